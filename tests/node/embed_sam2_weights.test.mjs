// The embedder's prepare_model with SAM 2.1's decoder weights: decoder.samw (which
// scripts/model/export writes beside a SAM 2.1 decoder.onnx) is found beside --decoder,
// copied into the dataset and named in the manifest ("decoder_weights"), so the app starts
// the C++ decoder for it; weights of the other family are refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepare_model, decoder_weights_for, check_decoder_weights } from '../../scripts/embedder/dataset.mjs';
import { SAM1_SPEC, SAM2_1_SPEC } from '../../scripts/lib/model_spec.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TINY2 = path.join(repo, 'tests/fixtures/tiny_sam2');
const TINY = path.join(repo, 'tests/fixtures/tiny');

test('SAM 2.1: decoder.samw beside decoder.onnx is copied and named in the manifest', async () => {
    const ds = fs.mkdtempSync(path.join(os.tmpdir(), 'sam2-ds-'));
    const o = { decoder: path.join(TINY2, 'decoder.onnx') };
    const weights = decoder_weights_for(o);
    assert.equal(weights, path.join(TINY2, 'decoder.samw'));
    const model = await prepare_model(ds, { encoder_sha256: 'x', model_id: null, decoder: o.decoder, decoder_weights: weights,
        previous: null, spec: SAM2_1_SPEC });
    assert.equal(model.decoder, 'decoder.onnx');
    assert.equal(model.decoder_weights, 'decoder.samw');
    assert.equal(model.spec.family, 'sam2.1');
    assert.deepEqual(fs.readFileSync(path.join(ds, 'decoder.samw')), fs.readFileSync(weights));
    fs.rmSync(ds, { recursive: true, force: true });
});

test('decoder weights of the other family are refused, naming the file', async () => {
    check_decoder_weights(path.join(TINY2, 'decoder.samw'), SAM2_1_SPEC);
    check_decoder_weights(path.join(TINY, 'decoder.samw'), SAM1_SPEC);
    assert.throws(() => check_decoder_weights(path.join(TINY, 'decoder.samw'), SAM2_1_SPEC),
                  /tiny\/decoder\.samw: sam decoder weights for a sam2\.1 dataset/);
    const ds = fs.mkdtempSync(path.join(os.tmpdir(), 'sam2-ds-'));
    await assert.rejects(prepare_model(ds, { encoder_sha256: 'x', decoder: path.join(TINY, 'decoder.onnx'),
        decoder_weights: path.join(TINY2, 'decoder.samw'), spec: SAM1_SPEC }), /tiny_sam2\/decoder\.samw: sam2\.1 decoder weights for a sam dataset/);
    assert.ok(!fs.existsSync(path.join(ds, 'decoder.samw')));
    fs.rmSync(ds, { recursive: true, force: true });
});
