// cli.mjs - command line of scripts/serve; see `scripts/serve --help`.
// First stdout line is always "listening on http://HOST:PORT/" (tests and scripts read
// the port from it when started with --port 0); with a token the next line is
// "open http://NAME:PORT/?token=TOKEN".
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { start_server, is_loopback } from './http_server.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage: scripts/serve [--port N] [--host ADDR] [--allow-host NAME] [--token] [--app DIR] [--static DIR]
                     [--max-body MB] [--max-in-flight MB] [--max-connections N] [--header-timeout S]
                     [--body-timeout S] [--encoder encoder.onnx] [--threads T] [DATASET_DIR...]
  --port N             port (default 8080; 0 picks a free one)
  --host ADDR          bind address (default 127.0.0.1). Anything beyond loopback requires the
                       token printed at start (open the printed URL once; see README, Security)
  --allow-host NAME    one more name the server answers to in the Host header (a DNS name or
                       proxy; loopback names and --host are always allowed); repeatable
  --token              require the token on loopback too (other users of this machine)
  --app DIR            the built app served at / (default build/wasm/site)
  --static DIR         a static folder served at / before the app (e.g. a bundle); repeatable
  --max-body MB        request body limit (default 64)
  --max-in-flight MB   request bodies held in memory by all requests together (default 4x --max-body)
  --max-connections N  open connections at once (default 128)
  --header-timeout S   request headers must arrive within S seconds (default 10)
  --body-timeout S     a body with no byte for S seconds, or slower than 64 KiB/s after S
                       seconds, is cut with 408 (default 30)
  --encoder FILE       enables POST /api/embed?dataset=NAME (image bytes in, manifest entry out)
  --threads T          encoder threads (default: onnxruntime's choice)
  DATASET_DIR          folders with manifest.json, served at /datasets/<basename>/, annotations
                       in DATASET_DIR/annotations.sqlite (default: build/datasets/samples when it exists)`;

function parse_args(argv) {
    const { values: v, positionals } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
            help: { type: 'boolean', short: 'h' },
            port: { type: 'string', default: '8080' },
            host: { type: 'string', default: '127.0.0.1' },
            'allow-host': { type: 'string', multiple: true, default: [] },
            token: { type: 'boolean', default: false },
            app: { type: 'string', default: path.join(repo, 'build/wasm/site') },
            static: { type: 'string', multiple: true, default: [] },
            'max-body': { type: 'string', default: '64' },
            'max-in-flight': { type: 'string' },
            'max-connections': { type: 'string', default: '128' },
            'header-timeout': { type: 'string', default: '10' },
            'body-timeout': { type: 'string', default: '30' },
            encoder: { type: 'string' },
            threads: { type: 'string', default: '0' },
        },
    });
    if (v.help) { console.log(USAGE); process.exit(0); }
    const num = (key, { positive = false } = {}) => {
        const n = Number(v[key]);
        if (!Number.isFinite(n) || n < 0 || (positive && n === 0)) throw new Error(`--${key}: "${v[key]}" is not a ${positive ? 'positive' : 'non-negative'} number`);
        return n;
    };
    return {
        port: num('port'), host: v.host, allow_hosts: v['allow-host'], token: v.token, app: v.app, static: v.static,
        max_body: num('max-body', { positive: true }), max_in_flight: v['max-in-flight'] === undefined ? undefined : num('max-in-flight', { positive: true }),
        max_connections: num('max-connections', { positive: true }), header_timeout: num('header-timeout', { positive: true }),
        body_timeout: num('body-timeout', { positive: true }), encoder: v.encoder || null, threads: num('threads'), datasets: positionals,
    };
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
        port: o.port, host: o.host, allow_hosts: o.allow_hosts, token: o.token || undefined, app_dirs: [...o.static, o.app],
        datasets: o.datasets, max_body_mb: o.max_body, max_in_flight_mb: o.max_in_flight, max_connections: o.max_connections,
        header_timeout_s: o.header_timeout, body_timeout_s: o.body_timeout, embed,
    });
    console.log(`listening on ${srv.url}`);
    if (srv.token) {
        const name = is_loopback(o.host) || o.host.includes(':') ? new URL(srv.url).host : `${o.host === '0.0.0.0' ? os.hostname() : o.host}:${srv.port}`;
        console.log(`open http://${name}/?token=${srv.token}`);
    }
    if (!is_loopback(o.host)) console.error(`serve: WARNING: bound to ${o.host}: reachable from the network; requests need the token printed above`);
    if (!o.static.length && !fs.existsSync(path.join(o.app, 'index.html'))) console.error(`serve: note: ${o.app}/index.html not found (build the app with scripts/build-wasm)`);
    for (const n of srv.notices) console.log(`serve: ${n}`);
    for (const [name, dir] of srv.datasets) console.log(`dataset ${name}: ${dir} -> ${srv.url}datasets/${name}/`);
    const stop = () => { srv.close().then(() => embed?.close()).finally(() => process.exit(0)); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

main().catch((err) => { console.error(`serve: ${err.message}`); process.exit(1); });
