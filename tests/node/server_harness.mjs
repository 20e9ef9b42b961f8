// server_harness.mjs - starts scripts/serve as a child process for the Node tests
// and speaks raw HTTP to it (so attack paths reach the server byte for byte);
// descriptor counts of the server process; condition-based waiting.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// Resolves {url, port, token, child, pid, output(), stderr(), stop(), kill()} once the first
// stdout line names the port (and the token line, when the arguments ask for a token).
export function spawn_server(args, { env = process.env } = {}) {
    const h = args.indexOf('--host');
    const wants_token = args.includes('--token') || (h >= 0 && !/^(127\.|localhost$|::1$)/.test(args[h + 1]));
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(repo, 'scripts/serve'), ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
        let out = '';
        let err = '';
        let started = false;
        const fail = (why) => reject(new Error(`${why}\nstdout: ${out}\nstderr: ${err}`));
        const timer = setTimeout(() => { child.kill('SIGKILL'); fail('server did not start'); }, 60000);
        child.stderr.on('data', (d) => { err += d; });
        child.stdout.on('data', (d) => {
            out += d;
            const m = /^listening on (http:\/\/[^\s]+:(\d+)\/)\n/.exec(out);
            const tok = /\nopen \S*[?&]token=([A-Za-z0-9_-]+)\n/.exec(out);
            if (m && (tok || !wants_token) && !started) {
                started = true;
                clearTimeout(timer);
                resolve({
                    url: m[1], port: Number(m[2]), token: tok ? tok[1] : null, child, pid: child.pid,
                    output: () => out, stderr: () => err,
                    stop: () => new Promise((r) => { if (child.exitCode !== null || child.signalCode !== null) return r(); child.once('exit', r); child.kill('SIGTERM'); }),
                    kill: () => new Promise((r) => { if (child.exitCode !== null || child.signalCode !== null) return r(); child.once('exit', r); child.kill('SIGKILL'); }),
                });
            }
        });
        child.on('exit', (code) => { clearTimeout(timer); if (!started) fail(`server exited with ${code}`); });
    });
}

// Runs scripts/serve expecting it to refuse to start; resolves {code, stdout, stderr}.
export function run_server_to_exit(args) {
    return new Promise((resolve) => {
        const child = spawn(path.join(repo, 'scripts/serve'), ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '', err = '';
        child.stdout.on('data', (d) => { out += d; if (/^listening on /.test(out)) child.kill('SIGKILL'); });
        child.stderr.on('data', (d) => { err += d; });
        child.on('exit', (code) => resolve({ code, stdout: out, stderr: err }));
    });
}

// Open file descriptors of a process (Linux /proc).
export function fd_count(pid) { return fs.readdirSync(`/proc/${pid}/fd`).length; }

// Polls `fn` until it returns a truthy value; throws with `what` after `timeout_ms`.
export async function wait_for(fn, what, { timeout_ms = 30000, every_ms = 50 } = {}) {
    const end = Date.now() + timeout_ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, every_ms));
    }
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
