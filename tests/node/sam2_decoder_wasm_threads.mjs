// Run by sam2_decoder_wasm.test.mjs in a child process: the -pthread module's worker
// threads keep Node alive, so this script exits itself once done. Decodes the tiny_sam2
// cases with the single-threaded and the 2-thread module and prints one JSON line:
// {threads, cases: [{name, iou_equal, low_res_max_diff}]}.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load_decoder_wasm, SAM2_FEATURES } from '../../scripts/lib/sam_decoder_wasm.mjs';
import { read_npy, npy_to_f32 } from '../../scripts/embedder/npy_file.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const refDir = path.join(repo, 'build/native/reference/tiny_sam2_decoder');
const samw = path.join(repo, 'tests/fixtures/tiny_sam2/decoder.samw');
const CASES = ['point', 'negative_point', 'box', 'box_and_point', 'three_points', 'mask_input'];
const f32 = (file) => npy_to_f32(read_npy(fs.readFileSync(file)));
const featureFiles = () => Object.fromEntries(SAM2_FEATURES.map((f) => [f, fs.readFileSync(path.join(refDir, `features.${f}.npy`))]));

try {
    const one = await load_decoder_wasm({ threads: 1 });
    const two = await load_decoder_wasm({ threads: 2 });
    for (const d of [one, two]) {
        d.load(fs.readFileSync(samw), 'decoder.samw');
        d.set_features_npy(featureFiles(), 'features');
    }
    const cases = CASES.map((c) => {
        const coords = f32(path.join(refDir, `${c}.point_coords.npy`)), labels = f32(path.join(refDir, `${c}.point_labels.npy`));
        const mask = f32(path.join(refDir, `${c}.has_mask_input.npy`))[0] !== 0 ? f32(path.join(refDir, `${c}.mask_input.npy`)) : null;
        const a = one.predict(coords, labels, mask), b = two.predict(coords, labels, mask);
        return { name: c, iou_equal: Array.from(a.iou).every((v, i) => Object.is(v, b.iou[i])),
                 low_res_max_diff: a.lowRes.reduce((m, v, i) => Math.max(m, Math.abs(v - b.lowRes[i])), 0) };
    });
    console.log(JSON.stringify({ threads: two.threads, cases }));
    process.exit(0);
} catch (e) {
    console.error(e.stack || String(e));
    process.exit(1);
}
