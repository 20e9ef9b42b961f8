"""Training pipeline of the bundled light model: synthetic scenes are reproducible and
well-formed, a few optimiser steps lower the loss, and evaluate.py runs on the shipped
ONNX model (a small held-out subset) and agrees with PyTorch."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from model_paths import MODEL_DIR, ROOT

import synth  # noqa: E402  (scripts/model is on sys.path via model_paths)
import train  # noqa: E402
from sam_model import build_sam  # noqa: E402

ASSETS = os.path.join(ROOT, "assets", "model")


def test_heldout_scenes_are_reproducible_and_nested():
    a, b = synth.heldout_scene(5), synth.heldout_scene(5)
    assert np.array_equal(a.image, b.image)
    assert len(a.masks) == len(b.masks) and all(np.array_equal(x, y) for x, y in zip(a.masks, b.masks))
    assert not np.array_equal(a.image[:64, :64], synth.heldout_scene(6).image[:64, :64])
    h, w = a.image.shape[:2]
    assert a.image.dtype == np.uint8 and a.image.shape[2] == 3 and 400 <= max(h, w) <= 1024
    parts_seen = 0
    for i in range(20):
        s = synth.heldout_scene(i)
        assert s.masks, f"scene {i} has no masks"
        for m, level, g in zip(s.masks, s.levels, s.groups):
            assert m.shape == s.image.shape[:2] and m.dtype == bool and m.sum() >= 30
            if level > 0:  # a part lies inside the visible whole of its object
                parts_seen += 1
                whole = [w_ for w_, l_, g_ in zip(s.masks, s.levels, s.groups) if g_ == g and l_ == 0]
                assert whole and not (m & ~whole[0]).any()
    assert parts_seen > 0, "no part / sub-part masks: the ambiguity the multimask output learns is missing"


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    sam = build_sam("light").train()
    sam.image_encoder.input_pool = 1
    size = 128
    rng = np.random.default_rng(3)
    batch = [train.sample_batch(rng, size, 4) for _ in range(2)]
    pe = sam.prompt_encoder.pe_layer((size // 16, size // 16)).unsqueeze(0)
    opt = torch.optim.AdamW(sam.parameters(), lr=2e-3)

    def loss_of(max_extra, seed):
        emb = sam.image_encoder(torch.stack([x for x, _ in batch]))
        gen = torch.Generator().manual_seed(seed)
        return sum(train.prompt_loss(sam, emb[i:i + 1], pe, gt, gen, max_extra, 0.5)[0] for i, (_, gt) in enumerate(batch))

    with torch.no_grad():
        before = float(loss_of(0, 1))
    for step in range(15):
        loss = loss_of(2, 100 + step)  # exercises the corrective-click path too
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(loss_of(0, 1))
    assert after < 0.8 * before, (before, after)


def test_evaluate_runs_on_the_shipped_model():
    assert os.path.exists(os.path.join(ASSETS, "encoder.onnx")), "assets/model has no trained model"
    r = subprocess.run([sys.executable, os.path.join(MODEL_DIR, "evaluate.py"), "--model-dir", ASSETS, "--n-scenes", "20",
                        "--first-scene", "1000", "--objects", "1", "--quiet", "--torch-weights",
                        os.path.join(ASSETS, "model.pt"), "--torch-scenes", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["n_scenes"] == 20 and result["n_masks"] == 20
    for key in ("miou_1click", "miou_3click", "miou_5click", "miou_box"):
        assert 0.0 <= result[key] <= 1.0
    # After 320 of its 2125 training steps the model scored 0.10 (1 click) and 0.02 (box) on 20 held-out scenes; the shipped
    # one 0.29 / 0.38 on 500 scenes (MODEL_CARD.md): these bounds need the trained model, and corrective
    # clicks must help.
    assert result["miou_1click"] > 0.2 and result["miou_box"] > 0.25, result
    assert result["miou_5click"] > result["miou_1click"], result
    agree = result["onnx_vs_torch"]
    assert agree["mask_iou_onnx_torch"] > 0.99 and agree["logit_max_abs_diff"] < 1e-2, agree
    # The same files through the embedder's onnxruntime-node loaders (node_modules is there after bootstrap).
    assert agree["mask_iou_node_torch"] > 0.99 and agree["node_logit_max_abs_diff"] < 1e-2, agree
    assert agree["node_emb_max_abs_diff"] < 1e-2, agree
