// server_harness.mjs - starts scripts/serve as a child process for the Node tests
// and speaks raw HTTP to it (so attack paths reach the server byte for byte).
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// Resolves to {url, port, child, stop()} once the first stdout line names the port.
export function spawn_server(args) {
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(repo, 'scripts/serve'), ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        const fail = (why) => reject(new Error(`${why}\nstdout: ${out}\nstderr: ${err}`));
        const timer = setTimeout(() => { child.kill('SIGKILL'); fail('server did not start'); }, 20000);
        child.stderr.on('data', (d) => { err += d; });
        child.stdout.on('data', (d) => {
            out += d;
            const m = /^listening on (http:\/\/[^\s]+:(\d+)\/)\n/.exec(out);
            if (m) {
                clearTimeout(timer);
                resolve({
                    url: m[1], port: Number(m[2]), child, stderr: () => err,
                    stop: () => new Promise((r) => { if (child.exitCode !== null) return r(); child.once('exit', r); child.kill('SIGTERM'); }),
                });
            }
        });
        child.on('exit', (code) => { clearTimeout(timer); fail(`server exited with ${code}`); });
    });
}

// Sends one raw HTTP/1.1 request; resolves {status, headers, body(Buffer)}.
export function raw_request(port, { method = 'GET', target = '/', headers = {}, body = null } = {}) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        const chunks = [];
        sock.on('data', (d) => chunks.push(d));
        sock.on('error', reject);
        sock.on('end', () => {
            const all = Buffer.concat(chunks);
            const split = all.indexOf('\r\n\r\n');
            const head = all.subarray(0, split).toString('latin1').split('\r\n');
            const status = Number(head[0].split(' ')[1]);
            const hdrs = {};
            for (const line of head.slice(1)) {
                const i = line.indexOf(':');
                hdrs[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
            }
            resolve({ status, headers: hdrs, body: all.subarray(split + 4) });
        });
        const h = { Host: `127.0.0.1:${port}`, Connection: 'close', ...headers };
        if (body !== null) h['Content-Length'] = Buffer.byteLength(body);
        const text = `${method} ${target} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
        sock.write(Buffer.from(text, 'latin1'));
        if (body !== null) sock.write(body);
    });
}
