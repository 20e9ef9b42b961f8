// coco_rle.mjs - an independent COCO RLE decoder for the browser tests
// (pycocotools maskApi.c rleFrString semantics), to check the app's exported
// masks against the area and bbox it reports.
//   const m = decodeRle(seg.counts, h, w);  m.area, m.bbox ([x, y, w, h]), m.at(x, y)

// Compressed counts string -> run lengths (column-major, zeros first).
export function countsFromString(s) {
  const counts = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = 1;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++; k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

export function decodeRle(counts, h, w) {
  const runs = typeof counts === 'string' ? countsFromString(counts) : counts;
  const total = runs.reduce((a, b) => a + b, 0);
  if (total !== h * w) throw new Error(`RLE counts sum to ${total}, expected ${h}*${w}`);
  const bits = new Uint8Array(h * w);  // column-major
  let pos = 0;
  runs.forEach((n, i) => { if (i % 2) bits.fill(1, pos, pos + n); pos += n; });
  let area = 0, x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      if (!bits[x * h + y]) continue;
      area++;
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
  }
  const bbox = area ? [x0, y0, x1 - x0 + 1, y1 - y0 + 1] : [0, 0, 0, 0];
  return { area, bbox, at: (x, y) => bits[x * h + y] };
}
