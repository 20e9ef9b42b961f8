// progress.mjs - progress report for long embedding runs.
//   const p = new progress(total, {stream: process.stderr});
//   p.tick('cat.jpg', 'embedded'); ... p.done();
// On a terminal: one redrawn line with a bar, count, rate and ETA. Otherwise
// (logs, CI, cluster jobs): one plain line per image, with the same numbers.

function fmt_time(s) {
    if (!Number.isFinite(s)) return '--:--';
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? `${h}:${String(m).padStart(2, '0')}` : `${m}`) + `:${String(sec).padStart(2, '0')}`;
}

export class progress {
    constructor(total, { stream = process.stderr, tty = stream.isTTY, label = '' } = {}) {
        this.total = total;
        this.count = 0;
        this.worked = 0;  // images actually embedded: skips would make the rate lie
        this.stream = stream;
        this.tty = !!tty;
        this.label = label;
        this.start = Date.now();
        this.work_time = 0;
    }

    tick(name, what, seconds = 0) {
        this.count++;
        if (what === 'embedded') { this.worked++; this.work_time += seconds; }
        const elapsed = (Date.now() - this.start) / 1000;
        const rate = this.worked > 0 ? this.worked / Math.max(this.work_time, 1e-3) : 0;
        const eta = rate > 0 ? (this.total - this.count) / rate : (this.count === this.total ? 0 : NaN);
        const numbers = `${this.count}/${this.total} ${rate ? rate.toFixed(2) : '-'} img/s elapsed ${fmt_time(elapsed)} eta ${fmt_time(eta)}`;
        if (this.tty) {
            const width = 24;
            const filled = this.total ? Math.round((width * this.count) / this.total) : width;
            const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
            const line = `${this.label}[${bar}] ${numbers} ${name}`.slice(0, (this.stream.columns || 100) - 1);
            this.stream.write(`\r\x1b[K${line}`);
        } else {
            this.stream.write(`${this.label}[${numbers}] ${what} ${name}\n`);
        }
    }

    // Messages (bad images) must not be overwritten by the redrawn bar.
    note(message) {
        this.stream.write(this.tty ? `\r\x1b[K${message}\n` : `${message}\n`);
    }

    done() { if (this.tty) this.stream.write('\n'); }
}
