"""The C++ decoder (build/native/sam_decode) against onnxruntime on our own exports, 100
random prompts per model: 1-10 points (+ the padding point), boxes alone or with points,
and the previous mask fed back as mask_input. Models: the bundled light model (its
decoder.onnx and decoder.samw, f16 weights, a real embedding of a sample photo), a
SAM-size decoder with fresh random weights exported here, and the tiny test model.
Bounds: max |C++ - ORT| / max |ORT logits| <= 1e-5 for low_res_masks, max |C++ - ORT| <= 1e-5
for iou_predictions (a quality score on the fixed [0, 1] scale, so an absolute bound: relative
to a prompt's own small predictions it measured float32 rounding, 1.2e-5 for the bundled v4
model where the absolute error was 1.7e-6), and IoU of the thresholded masks >= 0.999."""
import os
import subprocess

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from model_paths import ROOT, TINY

from sam_model.build import build_sam_decoder_only
from sam_model.export import export_decoder, export_decoder_weights

SAM_DECODE = os.environ.get("SAM_DECODE", os.path.join(ROOT, "build", "native", "sam_decode"))
BUNDLED = os.path.join(ROOT, "assets", "model")
PROMPTS = 100


def _embedding_of_sample(encoder_path):
    """The bundled encoder's embedding of assets/samples/coffee.jpg (official preprocessing)."""
    img = Image.open(os.path.join(ROOT, "assets", "samples", "coffee.jpg")).convert("RGB")
    s = 1024 / max(img.size)
    img = img.resize((int(img.size[0] * s + 0.5), int(img.size[1] * s + 0.5)), Image.BILINEAR)
    x = (np.asarray(img, np.float32) - np.array([123.675, 116.28, 103.53], np.float32)) / np.array(
        [58.395, 57.12, 57.375], np.float32)
    padded = np.zeros((1024, 1024, 3), np.float32)
    padded[: x.shape[0], : x.shape[1]] = x
    sess = ort.InferenceSession(encoder_path, providers=["CPUExecutionProvider"])
    return sess.run(None, {"image": padded.transpose(2, 0, 1)[None].copy()})[0]


def _prompts(rng, n):
    """(coords [1,N,2], labels [1,N]) in the 1024 frame, as the predictor makes them."""
    out = []
    for i in range(n):
        kind = rng.integers(0, 3)  # 0 points, 1 box, 2 box + points
        pts, labels = [], []
        if kind != 1:
            k = int(rng.integers(1, 11))
            pts += list(rng.uniform(-20, 1044, (k, 2)))
            labels += list(rng.integers(0, 2, k).astype(np.float32))
        if kind != 0:
            x0, y0 = rng.uniform(0, 900, 2)
            pts += [(x0, y0), (x0 + rng.uniform(5, 120), y0 + rng.uniform(5, 120))]
            labels += [2.0, 3.0]
        else:
            pts.append((0.0, 0.0))
            labels.append(-1.0)
        out.append((np.array(pts, np.float32)[None], np.array(labels, np.float32)[None]))
    return out


def _run(tmp_path, onnx_path, samw_path, embedding, seed, prompts=None):
    rng = np.random.default_rng(seed)
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    cases = tmp_path / "cases"
    cases.mkdir()
    np.save(tmp_path / "embedding.npy", embedding)
    want = []
    previous = None
    for i, (coords, labels) in enumerate(prompts if prompts is not None else _prompts(rng, PROMPTS)):
        feed_back = previous is not None and rng.random() < 0.3
        mask = previous if feed_back else np.zeros((1, 1, 256, 256), np.float32)
        feeds = {"image_embeddings": embedding, "point_coords": coords, "point_labels": labels, "mask_input": mask,
                 "has_mask_input": np.array([1.0 if feed_back else 0.0], np.float32),
                 "orig_im_size": np.array([768.0, 1024.0], np.float32)}
        out = dict(zip(names, sess.run(None, {k: feeds[k] for k in [x.name for x in sess.get_inputs()]})))
        want.append((out["iou_predictions"], out["low_res_masks"]))
        for k in ("point_coords", "point_labels", "mask_input", "has_mask_input"):
            np.save(cases / f"p{i:03d}.{k}.npy", feeds[k])
        best = int(np.argmax(out["iou_predictions"][0, 1:])) + 1
        previous = out["low_res_masks"][:, best:best + 1].copy()
    r = subprocess.run([SAM_DECODE, "--weights", samw_path, "--cases", str(cases), "--out", str(tmp_path / "out"),
                        "--embedding", str(tmp_path / "embedding.npy")], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    worst_rel, worst_iou_pred, worst_iou = 0.0, 0.0, 1.0
    for i, (iou_w, low_w) in enumerate(want):
        iou = np.load(tmp_path / "out" / f"p{i:03d}.iou_predictions.npy")
        low = np.load(tmp_path / "out" / f"p{i:03d}.low_res_masks.npy")
        assert iou.shape == iou_w.shape and low.shape == low_w.shape
        scale = max(float(np.max(np.abs(low_w))), 1e-6)
        worst_rel = max(worst_rel, float(np.max(np.abs(low - low_w))) / scale)
        worst_iou_pred = max(worst_iou_pred, float(np.max(np.abs(iou - iou_w))))
        for m in range(low.shape[1]):
            a, b = low[0, m] > 0, low_w[0, m] > 0
            union = np.count_nonzero(a | b)
            if union:
                worst_iou = min(worst_iou, np.count_nonzero(a & b) / union)
    return worst_rel, worst_iou_pred, worst_iou


def _check(tmp_path, onnx_path, samw_path, embedding, seed, label):
    rel, iou_pred, iou = _run(tmp_path, onnx_path, samw_path, embedding, seed)
    print(f"{label}: {PROMPTS} prompts, max |C++ - ORT| / max |logits| {rel:.2e}, max |C++ - ORT| of the "
          f"predicted IoUs {iou_pred:.2e}, min mask IoU {iou:.5f}")
    assert rel <= 1e-5, f"{label}: relative error {rel:.3e}"
    assert iou_pred <= 1e-5, f"{label}: predicted IoU error {iou_pred:.3e}"
    assert iou >= 0.999, f"{label}: thresholded masks IoU {iou:.5f}"


def test_bundled_model(tmp_path):
    embedding = _embedding_of_sample(os.path.join(BUNDLED, "encoder.onnx"))
    _check(tmp_path, os.path.join(BUNDLED, "decoder.onnx"), os.path.join(BUNDLED, "decoder.samw"), embedding, 1,
           "bundled light model")


def test_random_sam_size_decoder(tmp_path):
    torch.manual_seed(4321)
    sam = build_sam_decoder_only("vit_b")  # SAM's decoder dimensions, fresh random weights
    export_decoder(sam, str(tmp_path / "decoder.onnx"), "fast", log=lambda *a: None)
    export_decoder_weights(sam, str(tmp_path / "decoder.samw"), "f32", log=lambda *a: None)
    embedding = np.random.default_rng(2).standard_normal((1, 256, 64, 64)).astype(np.float32)
    _check(tmp_path, str(tmp_path / "decoder.onnx"), str(tmp_path / "decoder.samw"), embedding, 2, "random SAM-size")


def test_tiny_model(tmp_path):
    embedding = np.random.default_rng(3).standard_normal((1, 256, 64, 64)).astype(np.float32)
    _check(tmp_path, os.path.join(TINY, "decoder.onnx"), os.path.join(TINY, "decoder.samw"), embedding, 3, "tiny")


def test_no_points_and_200_points_as_onnxruntime(tmp_path):
    # Edge sizes of the official interface: N = 0 (only the mask tokens) and N = 200.
    rng = np.random.default_rng(4)
    prompts = [(np.zeros((1, 0, 2), np.float32), np.zeros((1, 0), np.float32)),
               (rng.uniform(0, 1024, (1, 200, 2)).astype(np.float32), rng.integers(0, 2, (1, 200)).astype(np.float32))]
    embedding = rng.standard_normal((1, 256, 64, 64)).astype(np.float32)
    rel, iou_pred, iou = _run(tmp_path, os.path.join(TINY, "decoder.onnx"), os.path.join(TINY, "decoder.samw"),
                              embedding, 4, prompts)
    print(f"tiny, N = 0 and N = 200: max |C++ - ORT| / max |logits| {rel:.2e}, predicted IoUs {iou_pred:.2e}, "
          f"min mask IoU {iou:.5f}")
    assert rel <= 1e-5 and iou_pred <= 1e-5 and iou >= 0.999
