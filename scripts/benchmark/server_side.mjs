// server_side.mjs - server-side figures for scripts/bench (onnxruntime-node, this machine):
// the automatic-mask-generator "everything" pass of `scripts/embed --everything`, when the
// embedder has it. The official 32x32 grid is 1024 decoder runs per image (minutes on 2
// cores), too long for the benchmark's budget: one 8x8 grid (64 points, one batch) is
// timed and the per-point cost is scaled to the 32x32 grid, labelled as such.
// Also 20 detector boxes through `scripts/embed --boxes`, per box.
//   node server_side.mjs --out server.json --dataset DIR --decoder-batch decoder_batch.onnx \
//        --decoder decoder.onnx --work DIR
// Writes a JSON list of {what, figure, ...raw}.
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

// A mode exists when `scripts/embed FLAG --help` prints that mode's own usage.
function has_mode(flag) {
    const r = spawnSync(embed, [flag, '--help'], { encoding: 'utf8' });
    return `${r.stdout || ''}${r.stderr || ''}`.includes(`scripts/embed ${flag}`);
}

function everything(o) {
    const what = 'AMG "everything" pass, per image (official parameters, 32x32 points)';
    if (!has_mode('--everything')) return { what, figure: 'not measured: scripts/embed has no --everything mode in this checkout' };
    const pps = 8;
    const r = spawnSync(embed, ['--everything', '--out', o.dataset, '--decoder-batch', o['decoder-batch'],
        '--points-per-side', String(pps), '--force'], { encoding: 'utf8', timeout: 300000 });
    if (r.status !== 0) return { what, figure: `failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' / ')}` };
    const dir = path.join(o.dataset, 'proposals');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    const p = JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8'));
    const points = pps * pps;
    const per_point_s = p.stats.seconds / points;
    const scaled = per_point_s * 32 * 32;
    return {
        what, figure: `~${scaled.toFixed(0)} s (scaled from ${points} points in ${p.stats.seconds.toFixed(1)} s: ` +
            `${(per_point_s * 1000).toFixed(0)} ms per point, decoder ${(p.stats.decode_seconds / points * 1000).toFixed(0)} ms; ` +
            `${p.annotations.length} masks kept, random weights)`,
        measured_points: points, seconds: p.stats.seconds, decode_seconds: p.stats.decode_seconds, per_point_ms: per_point_s * 1000,
        scaled_32x32_seconds: scaled, stats: p.stats, params: p.params,
    };
}

// 20 detector boxes (YOLO label file, deterministic sizes and places) through --boxes.
function boxes(o) {
    const what = 'box prompts (detector boxes -> masks, RLE/COCO), per box';
    if (!has_mode('--boxes')) return { what, figure: 'not measured: scripts/embed has no --boxes mode in this checkout' };
    const manifest = JSON.parse(fs.readFileSync(path.join(o.dataset, 'manifest.json'), 'utf8'));
    const stem = path.basename(manifest.images[0].file).replace(/\.[^.]+$/, '');
    const dir = path.join(o.work, 'yolo');
    fs.mkdirSync(dir, { recursive: true });
    const n = 20, lines = [];
    for (let i = 0; i < n; i++) {
        const w = 0.1 + 0.3 * ((i * 7) % 10) / 10, h = 0.1 + 0.3 * ((i * 3) % 10) / 10;
        const cx = w / 2 + (1 - w) * ((i * 37) % 100) / 100, cy = h / 2 + (1 - h) * ((i * 61) % 100) / 100;
        lines.push(`0 ${cx.toFixed(4)} ${cy.toFixed(4)} ${w.toFixed(4)} ${h.toFixed(4)}`);
    }
    fs.writeFileSync(path.join(dir, `${stem}.txt`), lines.join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'classes.txt'), 'object\n');
    const r = spawnSync(embed, ['--boxes', dir, '--out', o.dataset, '--decoder', o.decoder, '--coco-out', path.join(o.work, 'boxes_coco.json')],
        { encoding: 'utf8', timeout: 300000 });
    const text = `${r.stdout || ''}${r.stderr || ''}`;
    const m = /(\d+) boxes in ([\d.]+) s \((\d+) ms per box\)/.exec(text);
    if (r.status !== 0 || !m) return { what, figure: `failed (exit ${r.status}): ${text.trim().split('\n').slice(-3).join(' / ')}` };
    const dec = /decoder (\d+) ms/.exec(text);
    return {
        what, figure: `${m[3]} ms (${m[1]} boxes on the 2250x1500 image in ${m[2]} s${dec ? `; decoder ${dec[1]} ms per box` : ''})`,
        boxes: Number(m[1]), seconds: Number(m[2]), per_box_ms: Number(m[3]), output: text.trim().split('\n').slice(-3),
    };
}

const o = parse_args(process.argv.slice(2));
const rows = [everything(o), boxes(o)];
fs.writeFileSync(o.out, JSON.stringify(rows, null, 1) + '\n');
for (const r of rows) console.error(`${r.what}: ${r.figure}`);
