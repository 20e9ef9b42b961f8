// server.mjs - starts scripts/serve on a free port for the benchmark and stops it.
//   const srv = await start_serve(['--app', dir, '--static', dir2, dataset]);  srv.url; srv.pid; await srv.close();
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function start_serve(args) {
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(repo, 'scripts/serve'), ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '', err = '';
        child.stderr.on('data', (d) => { err += d; });
        child.stdout.on('data', (d) => {
            out += d;
            const m = /listening on (http:\/\/\S+)/.exec(out);
            if (m) resolve({
                url: m[1].endsWith('/') ? m[1] : m[1] + '/',
                pid: child.pid,  // scripts/serve execs node: the server process itself
                close: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }),
            });
        });
        child.once('exit', (code) => reject(new Error(`scripts/serve exited (${code}): ${err || out}`)));
    });
}
