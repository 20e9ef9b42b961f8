// server_side.mjs - server-side figures for scripts/bench: the automatic-mask-generator
// "everything" pass and per-box decoding of scripts/embed (onnxruntime-node), when the
// embedder offers them (--everything, --boxes). Writes a JSON list of {what, figure, ...}.
//   node server_side.mjs --out server.json --encoder E.onnx --decoder D.onnx --images DIR --work DIR
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const embed = path.join(repo, 'scripts/embed');

function parse_args(argv) {
    const o = {};
    for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
    return o;
}

function help_text() {
    const r = spawnSync(embed, ['--help'], { encoding: 'utf8' });
    return `${r.stdout || ''}${r.stderr || ''}`;
}

const o = parse_args(process.argv.slice(2));
const help = help_text();
const rows = [];
for (const [flag, what] of [['--everything', 'AMG "everything" pass, per image'], ['--boxes', 'box prompts, per box']]) {
    if (!help.includes(flag)) {
        rows.push({ what, figure: `not measured: scripts/embed has no ${flag} option yet` });
        continue;
    }
    rows.push({ what, figure: 'not measured: option present but not wired into scripts/bench yet' });
}
fs.writeFileSync(o.out, JSON.stringify(rows, null, 1) + '\n');
