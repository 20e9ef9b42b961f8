// cli.mjs - command line of scripts/serve; see `scripts/serve --help`.
// First stdout line is always "listening on http://HOST:PORT/" (tests and
// scripts read the port from it when started with --port 0).
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { start_server, is_loopback } from './http_server.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage: scripts/serve [--port N] [--host ADDR] [--app DIR] [--static DIR]
                     [--max-body MB] [--encoder encoder.onnx] [--threads T] [DATASET_DIR...]
  --port N        port (default 8080; 0 picks a free one)
  --host ADDR     bind address (default 127.0.0.1; anything else is reachable from the network)
  --app DIR       the built app served at / (default build/wasm/site)
  --static DIR    a static folder served at / before the app (e.g. a bundle); repeatable
  --max-body MB   request body limit (default 64)
  --encoder FILE  enables POST /api/embed?dataset=NAME (image bytes in, manifest entry out)
  DATASET_DIR     folders with manifest.json, served at /datasets/<basename>/
                  (default: build/datasets/samples when it exists)`;

function parse_args(argv) {
    const o = { port: 8080, host: '127.0.0.1', app: path.join(repo, 'build/wasm/site'), static: [], max_body: 64, datasets: [], encoder: null, threads: 0 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            return argv[++i];
        };
        const num = (v) => {
            const n = Number(v);
            if (!Number.isFinite(n) || n < 0) throw new Error(`${a}: "${v}" is not a non-negative number`);
            return n;
        };
        if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
        else if (a === '--port') o.port = num(val());
        else if (a === '--host') o.host = val();
        else if (a === '--app') o.app = val();
        else if (a === '--static') o.static.push(val());
        else if (a === '--max-body') o.max_body = num(val());
        else if (a === '--encoder') o.encoder = val();
        else if (a === '--threads') o.threads = num(val());
        else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
        else o.datasets.push(a);
    }
    return o;
}

async function main() {
    let o;
    try { o = parse_args(process.argv.slice(2)); } catch (err) {
        console.error(`serve: ${err.message}\n${USAGE}`);
        process.exit(2);
    }
    if (o.datasets.length === 0) {
        const samples = path.join(repo, 'build/datasets/samples');
        if (fs.existsSync(path.join(samples, 'manifest.json'))) o.datasets.push(samples);
    }
    for (const d of o.datasets) {
        if (!fs.statSync(d, { throwIfNoEntry: false })?.isDirectory()) {
            console.error(`serve: dataset folder ${d} does not exist`);
            process.exit(2);
        }
    }
    let embed = null;
    if (o.encoder) {
        const { upload_embedder } = await import('../embedder/upload.mjs');
        embed = await upload_embedder.create({ encoder: o.encoder, threads: o.threads });
    }
    const srv = await start_server({
        port: o.port, host: o.host, app_dirs: [...o.static, o.app], datasets: o.datasets, max_body_mb: o.max_body, embed,
    });
    console.log(`listening on ${srv.url}`);
    if (!is_loopback(o.host)) console.error(`serve: WARNING: bound to ${o.host}; anyone who can reach this address can read and overwrite the annotations`);
    if (!o.static.length && !fs.existsSync(path.join(o.app, 'index.html'))) console.error(`serve: note: ${o.app}/index.html not found (build the app with scripts/build-wasm)`);
    for (const [name, dir] of srv.datasets) console.log(`dataset ${name}: ${dir} -> ${srv.url}datasets/${name}/`);
    const stop = () => { srv.close().then(() => embed?.close()).finally(() => process.exit(0)); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

main().catch((err) => { console.error(`serve: ${err.message}`); process.exit(1); });
