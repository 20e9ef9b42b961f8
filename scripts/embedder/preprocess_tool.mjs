// preprocess_tool.mjs - drives the native sam_preprocess tool (src/tools), which
// runs the C++ core's decode + EXIF + resize + normalise (+ pad): SAM 1's
// ResizeLongestSide (preprocess 'longest_side_1024', the default) or SAM 2's
// 1024x1024 stretch ('square_1024'), as the model spec says.
//   const pre = await preprocessor.start({max_pixels, preprocess: spec.preprocess});
//   const {info, tensor} = await pre.run('cat.jpg');  // tensor: Float32Array 3*1024*1024 (CHW)
//   pre.close();
// One long-lived process (--stdin mode) serves all images of a run, one at a time.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { find_native_tool } from '../lib/native_tool.mjs';

export const TENSOR_FLOATS = 3 * 1024 * 1024;

// $SAM_PREPROCESS, else build/native/sam_preprocess or the newest build/*/sam_preprocess, else build it.
export function find_preprocess_tool({ build = true } = {}) {
    return find_native_tool('sam_preprocess', 'SAM_PREPROCESS', { build });
}

// A killed run (SIGKILL, a cluster pre-emption) cannot clean up after itself:
// the next run removes the folders of processes that no longer exist.
function remove_stale_tmpdirs(base) {
    for (const name of fs.readdirSync(base)) {
        const m = /^sam-preprocess-(\d+)-/.exec(name);
        if (!m) continue;
        try { process.kill(Number(m[1]), 0); continue; } catch (err) { if (err.code !== 'ESRCH') continue; }
        fs.rmSync(path.join(base, name), { recursive: true, force: true });
    }
}

export class preprocessor {
    static async start({ max_pixels = 0, tool = null, preprocess = 'longest_side_1024' } = {}) {
        const p = new preprocessor();
        p.tool = tool || find_preprocess_tool();
        p.preprocess = preprocess;
        // SAM 1's default needs no flag (a tool built before --preprocess still serves it).
        const args = preprocess === 'longest_side_1024' ? ['--stdin'] : ['--preprocess', preprocess, '--stdin'];
        if (max_pixels) args.unshift('--max-pixels', String(max_pixels));
        p.child = spawn(p.tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        p.stderr = '';
        p.child.stderr.on('data', (d) => { p.stderr += d; });
        p.waiting = [];
        p.exited = false;
        p.lines = readline.createInterface({ input: p.child.stdout });
        p.lines.on('line', (line) => {
            const w = p.waiting.shift();
            if (w) w.resolve(line);
        });
        p.child.on('exit', (code, signal) => {
            p.exited = true;
            const err = new Error(`sam_preprocess exited (${signal || code}) ${p.stderr.trim()}`);
            for (const w of p.waiting.splice(0)) w.reject(err);
        });
        p.child.stdin.on('error', () => {});
        const shm = '/dev/shm';
        const base = fs.existsSync(shm) && fs.statSync(shm).isDirectory() ? shm : os.tmpdir();
        remove_stale_tmpdirs(base);
        p.tmpdir = fs.mkdtempSync(path.join(base, `sam-preprocess-${process.pid}-`));
        p.queue = Promise.resolve();
        return p;
    }

    #ask(request) {
        return new Promise((resolve, reject) => {
            if (this.exited) return reject(new Error(`sam_preprocess is not running ${this.stderr.trim()}`));
            this.waiting.push({ resolve, reject });
            this.child.stdin.write(JSON.stringify(request) + '\n');
        });
    }

    // Resolves {info: {width, height, input_h, input_w, orientation, type}, tensor};
    // rejects with the tool's message (which names the file) for a bad image.
    run(image_path) {
        const job = this.queue.then(async () => {
            const out = path.join(this.tmpdir, 'input.f32');
            const reply = JSON.parse(await this.#ask({ image: path.resolve(image_path), out }));
            if (!reply.ok) throw Object.assign(new Error(reply.error), { bad_image: true });
            const buf = fs.readFileSync(out);
            fs.rmSync(out, { force: true });
            if (buf.length !== TENSOR_FLOATS * 4) throw new Error(`sam_preprocess wrote ${buf.length} bytes, expected ${TENSOR_FLOATS * 4}`);
            const tensor = buf.byteOffset % 4 === 0 ? new Float32Array(buf.buffer, buf.byteOffset, TENSOR_FLOATS) : new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
            const { ok, ...info } = reply;
            return { info, tensor };
        });
        this.queue = job.catch(() => {});
        return job;
    }

    close() {
        if (!this.exited) this.child.stdin.end();
        fs.rmSync(this.tmpdir, { recursive: true, force: true });
    }
}
