// test_dataset.mjs - builds a small dataset folder (manifest.json version 1,
// images/, embeddings/, decoder.onnx) for the browser tests.
// The images are drawn here; scripts/embed runs the tiny test model's
// encoder (tests/fixtures/tiny) over them and writes the manifest, the
// embeddings, decoder.onnx (fast, low-res only) and decoder_full.onnx
// (official interface with `masks`). npyF32 writes odd .npy files for the
// error tests. With {model: 'sam2.1'} the tiny SAM 2.1-shaped model
// (tests/fixtures/tiny_sam2) embeds them instead: a version 2 manifest, three
// float16 feature files per image (features: {image_embed, high_res_feats_0,
// high_res_feats_1}), its decoder.onnx.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { encodePng } from './png.mjs';

const TINY = path.resolve('tests/fixtures/tiny');
const TINY_SAM2 = path.resolve('tests/fixtures/tiny_sam2');

export function npyF32(shape, values) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1'); pre[6] = 1; pre[7] = 0; pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
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

// Embeds the image files `files` with the tiny model into dataset folder `dir`; returns the manifest.
export function embedDataset(dir, files, { model = 'sam' } = {}) {
  const src = path.join(dir, 'src');
  fs.mkdirSync(src, { recursive: true });
  for (const f of files) fs.copyFileSync(f, path.join(src, path.basename(f)));
  const args = model === 'sam2.1'
    ? ['--encoder', path.join(TINY_SAM2, 'encoder.onnx'), '--decoder', path.join(TINY_SAM2, 'decoder.onnx'), '--model-id', 'sam2.1-tiny-test']
    : ['--encoder', path.join(TINY, 'encoder.onnx'), '--decoder', path.join(TINY, 'decoder.onnx'),
      '--decoder-full', path.join(TINY, 'decoder_full.onnx'), '--model-id', 'sam-tiny-test'];
  execFileSync('scripts/embed', [...args, '--images', src, '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  fs.rmSync(src, { recursive: true, force: true });
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
}

// Writes the dataset (drawn pictures picture<k>.png of the given sizes) into `dir`; returns the manifest.
// options.model: 'sam' (default) or 'sam2.1'.
export function makeTestDataset(dir, sizes = [[640, 480], [300, 500]], options = {}) {
  const tmp = fs.mkdtempSync(path.join(dir, 'drawn-'));
  const files = sizes.map(([w, h], k) => {
    const f = path.join(tmp, `picture${k + 1}.png`);
    fs.writeFileSync(f, encodePng(w, h, drawImage(w, h, k)));
    return f;
  });
  const manifest = embedDataset(dir, files, options);
  fs.rmSync(tmp, { recursive: true, force: true });
  return manifest;
}
