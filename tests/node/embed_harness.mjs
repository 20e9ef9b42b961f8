// embed_harness.mjs - test support for the embedder: runs scripts/embed as a
// child process and makes folders of small test images.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test_picture } from './png_file.mjs';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TINY = path.join(repo, 'tests/fixtures/tiny');

// Resolves {code, signal, stdout, stderr}. on_child(child) sees the process early
// (the kill-and-resume test needs it).
export function run_embed(args, { on_child } = {}) {
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(repo, 'scripts/embed'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
        on_child?.(child);
    });
}

// n small PNG pictures img00.png ... (sizes vary so width/height are checked).
export function make_images(dir, n, { offset = 0 } = {}) {
    fs.mkdirSync(dir, { recursive: true });
    const names = [];
    for (let i = 0; i < n; i++) {
        const name = `img${String(i + offset).padStart(2, '0')}.png`;
        const w = 40 + 8 * ((i + offset) % 5);
        const h = 30 + 6 * ((i + offset) % 3);
        fs.writeFileSync(path.join(dir, name), test_picture(w, h, i + offset));
        names.push(name);
    }
    return names;
}

export function read_json(file) { return JSON.parse(fs.readFileSync(file, 'utf8')); }
