// coco_check.mjs - the C++ core's COCO import as a validator for what the server stores:
// one long-lived `sam_coco check --stdin` (src/tools/sam_coco.cpp) answers every check, so
// a stored document passes exactly the rules the app applies when it loads one.
//   const checker = coco_checker.start();             // finds or builds build/native/sam_coco
//   const r = await checker.check(coco_text);         // {ok: true, annotations, ...} | {ok: false, error}
//   const f = core_failure(r.error);                  // {status: 422, field: 'annotations[3].bbox', error}
//   checker.close();
// Requests are answered in order; a crashed tool is restarted for the next request.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { find_native_tool } from '../lib/native_tool.mjs';

export const CHECK_NAME = 'request';

export class coco_checker {
    static start(tool = find_native_tool('sam_coco', 'SAM_COCO')) {
        const c = new coco_checker();
        c.tool = tool;
        c.child = null;
        c.queue = Promise.resolve();
        return c;
    }

    #spawn() {
        const child = spawn(this.tool, ['check', '--stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
        const state = { child, waiting: [], stderr: '', exited: false };
        child.stderr.on('data', (d) => { state.stderr = (state.stderr + d).slice(-4000); });
        readline.createInterface({ input: child.stdout }).on('line', (line) => state.waiting.shift()?.resolve(line));
        child.on('exit', (code, signal) => {
            state.exited = true;
            const err = new Error(`sam_coco exited (${signal || code}) ${state.stderr.trim()}`);
            for (const w of state.waiting.splice(0)) w.reject(err);
        });
        child.on('error', () => {});
        child.stdin.on('error', () => {});
        return state;
    }

    check(text) {
        const job = this.queue.then(() => new Promise((resolve, reject) => {
            if (!this.child || this.child.exited) this.child = this.#spawn();
            const bytes = Buffer.from(text, 'utf8');
            this.child.waiting.push({ resolve: (line) => resolve(JSON.parse(line)), reject });
            this.child.child.stdin.write(`${bytes.length}\n`);
            this.child.child.stdin.write(bytes);
        }));
        this.queue = job.catch(() => {});
        return job;
    }

    close() {
        if (this.child && !this.child.exited) this.child.child.stdin.end();
    }
}

// The core's messages read "request: <field path>: <problem>"; a message without a path
// ("not valid JSON", "nested deeper than 64 levels") is about the text, not its content.
export function core_failure(message) {
    const text = message.startsWith(`${CHECK_NAME}: `) ? message.slice(CHECK_NAME.length + 2) : message;
    const m = /^([A-Za-z_]+(?:\[\d+\]|\.[A-Za-z_]+)*): (.*)$/s.exec(text);
    if (!m) return { status: 400, error: `the core's COCO reader refuses the body: ${text}` };
    return { status: 422, field: m[1], error: text };
}
