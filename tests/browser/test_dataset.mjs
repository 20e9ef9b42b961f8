// test_dataset.mjs - builds a small dataset folder (manifest.json version 1,
// images/, embeddings/, decoder.onnx) for the browser tests.
// Until the tiny test model and scripts/embed exist, the images are drawn
// here, the embeddings are seeded random normal [1,256,64,64] float32 .npy
// files, and the decoder is the official SAM export (random weights) from
// ../shared/sam-reference/decoder/official_decoder.onnx.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { encodePng } from './png.mjs';

const REFERENCE_DECODER = path.resolve('../shared/sam-reference/decoder/official_decoder.onnx');

function npyF32(shape, values) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1'); pre[6] = 1; pre[7] = 0; pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

function seededNormal(seed) {
  let s = seed >>> 0;
  const uniform = () => { s = (s * 1664525 + 1013904223) >>> 0; return (s + 0.5) / 4294967296; };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

// A test picture: a background gradient with a few filled shapes.
function drawImage(width, height, seed) {
  const px = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      px[i] = 40 + (x * 120) / width; px[i + 1] = 60 + (y * 100) / height; px[i + 2] = 90 + seed * 30; px[i + 3] = 255;
      const dx = x - width * 0.35, dy = y - height * 0.45;
      if (dx * dx + dy * dy < (Math.min(width, height) * 0.2) ** 2) { px[i] = 230; px[i + 1] = 180; px[i + 2] = 40; }
      if (x > width * 0.6 && x < width * 0.85 && y > height * 0.2 && y < height * 0.7) { px[i] = 50; px[i + 1] = 200; px[i + 2] = 210; }
    }
  }
  return px;
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// Writes the dataset into `dir` and returns the manifest object.
export function makeTestDataset(dir, sizes = [[640, 480], [300, 500]]) {
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'embeddings'), { recursive: true });
  fs.copyFileSync(REFERENCE_DECODER, path.join(dir, 'decoder.onnx'));
  const images = sizes.map(([w, h], k) => {
    const stem = `picture${k + 1}`;
    const png = encodePng(w, h, drawImage(w, h, k));
    fs.writeFileSync(path.join(dir, 'images', `${stem}.png`), png);
    const normal = seededNormal(1000 + k);
    const emb = new Float32Array(256 * 64 * 64).map(() => Math.round(normal() * 4) / 4);
    fs.writeFileSync(path.join(dir, 'embeddings', `${stem}.npy`), npyF32([1, 256, 64, 64], emb));
    return { id: k + 1, file: `images/${stem}.png`, width: w, height: h, sha256: sha256(png),
             embedding: `embeddings/${stem}.npy`, embedding_dtype: 'float32' };
  });
  const manifest = { version: 1, model: { id: 'sam-reference-random', encoder_sha256: '', decoder: 'decoder.onnx' }, images };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}
