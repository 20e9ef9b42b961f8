// stats.mjs - summaries of latency samples and the benchmark's prompt positions.
//   summarize([ms...]) -> {n, p50, p95, min, max, mean} (ms, 1 decimal; linear-interpolated percentiles)
//   prompt_positions(w, h, n) -> [{x, y}] image pixels, deterministic and spread over the image
export function percentile(sorted, p) {
    if (!sorted.length) return NaN;
    const k = (sorted.length - 1) * p;
    const lo = Math.floor(k), hi = Math.ceil(k);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (k - lo);
}

const r1 = (v) => Math.round(v * 10) / 10;

export function summarize(samples) {
    const s = samples.filter(Number.isFinite).sort((a, b) => a - b);
    if (!s.length) return { n: 0, p50: null, p95: null, min: null, max: null, mean: null };
    return {
        n: s.length, p50: r1(percentile(s, 0.5)), p95: r1(percentile(s, 0.95)), min: r1(s[0]), max: r1(s[s.length - 1]),
        mean: r1(s.reduce((a, b) => a + b, 0) / s.length),
    };
}

function halton(i, base) {
    let f = 1, r = 0;
    for (; i > 0; i = Math.floor(i / base)) { f /= base; r += f * (i % base); }
    return r;
}

// Halton (2, 3) points inside the central 80 % of the image: varied positions that
// still land on the image in both pages, the same list for baseline and ours.
export function prompt_positions(width, height, n) {
    const out = [];
    for (let i = 1; i <= n; i++) {
        out.push({ x: Math.round(width * (0.1 + 0.8 * halton(i, 2))), y: Math.round(height * (0.1 + 0.8 * halton(i, 3))) });
    }
    return out;
}
