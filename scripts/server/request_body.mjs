// request_body.mjs - reads request bodies within bounds: a size limit (413), a deadline
// (408: no byte for `timeout_ms`, or slower on average than `min_rate` after it), and a
// budget of body bytes held in memory by all requests together (503 when it is spent).
//   const budget = new body_budget(256 * 2 ** 20);
//   const bytes = await read_body(req, res, { limit, budget, timeout_ms: 30000 });
// A body's bytes count against the budget from the first byte (or its Content-Length) until
// its response has been sent, so a server holding many stalled uploads refuses more instead
// of running out of memory, and a cut upload frees its share at once.
export class http_error extends Error {
    // close: answer, then close the connection instead of reading the rest of the body.
    constructor(status, message, body, { close = false, headers = {} } = {}) {
        super(message);
        this.status = status;
        this.body = body;
        this.close = close;
        this.headers = headers;
    }
}

export class body_budget {
    constructor(cap) { this.cap = cap; this.used = 0; }
    take(n) {
        if (this.used + n > this.cap) return false;
        this.used += n;
        return true;
    }
    give(n) { this.used -= n; }
}

export const MIN_BODY_RATE = 64 * 1024;  // bytes/s: slower than this on average is cut (after timeout_ms)

export function read_body(req, res, { limit, budget, timeout_ms = 30000, min_rate = MIN_BODY_RATE }) {
    return new Promise((resolve, reject) => {
        const declared = Number(req.headers['content-length']);
        if (Number.isFinite(declared) && declared > limit) {
            reject(new http_error(413, `body of ${declared} bytes is over the limit of ${limit} bytes`));
            return;
        }
        let held = 0;
        const hold = (n) => {
            if (!budget.take(n)) return false;
            held += n;
            return true;
        };
        res.once('close', () => { budget.give(held); held = 0; });
        const busy = () => new http_error(503, 'the server holds too many request bodies at once; retry shortly', undefined, { headers: { 'Retry-After': '2' } });
        if (Number.isFinite(declared) && declared > 0 && !hold(declared)) {
            reject(busy());
            return;
        }
        let chunks = [];
        let size = 0;
        let done = false;
        const start = Date.now();
        let last = start;
        const finish = (err, value) => {
            if (done) return;
            done = true;
            clearInterval(timer);
            if (err) {
                chunks = [];
                reject(err);
            } else {
                resolve(value);
            }
        };
        const timer = setInterval(() => {
            const now = Date.now();
            const idle = now - last > timeout_ms;
            if (idle || now - start > timeout_ms + (size / min_rate) * 1000) {
                finish(new http_error(408, `request body too slow: ${size}${Number.isFinite(declared) ? ` of ${declared}` : ''} bytes in ${((now - start) / 1000).toFixed(1)} s${idle ? `, none for ${timeout_ms / 1000} s` : ''}`, undefined, { close: true }));
            }
        }, Math.max(50, Math.min(1000, timeout_ms / 4)));
        timer.unref();
        req.on('data', (chunk) => {
            if (done) return;
            last = Date.now();
            size += chunk.length;
            if (size > limit) {
                finish(new http_error(413, `body is over the limit of ${limit} bytes`));
                return;
            }
            if (size > held && !hold(size - held)) {
                finish(busy());
                return;
            }
            chunks.push(chunk);
        });
        req.on('end', () => finish(null, Buffer.concat(chunks, size)));
        req.on('error', (err) => finish(err));
        req.on('close', () => { if (!req.complete) finish(new http_error(400, 'the client went away before sending the whole body', undefined, { close: true })); });
    });
}
