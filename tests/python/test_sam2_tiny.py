"""The tiny SAM 2.1-shaped test model (tests/fixtures/tiny_sam2): reproducible,
loadable with the official checkpoint layout, the real ONNX interface, and its
ONNX files agree with PyTorch and with each other."""
import hashlib
import os
import subprocess

import numpy as np
import onnxruntime as ort
import pytest
import torch

from model_paths import ROOT, TINY_SAM2

from sam_model.build_sam2 import build_sam2
from sam_model.sam2_onnx import DECODER_INPUTS, FEATURE_SHAPES, FEATURES
from sam_model.tiny_model import SAM2_FILES


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _session(name):
    return ort.InferenceSession(os.path.join(TINY_SAM2, name), providers=["CPUExecutionProvider"])


def test_regenerating_gives_identical_bytes(tmp_path):
    r = subprocess.run([os.path.join(ROOT, "scripts", "model", "make-test-model"), "--model-type", "sam2-tiny-test",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in SAM2_FILES:
        assert _sha(tmp_path / name) == _sha(os.path.join(TINY_SAM2, name)), name
    # 7 MB: decoder.samw (1.2 MB, the C++ decoder's f32 weights) joined the files
    assert sum(os.path.getsize(os.path.join(TINY_SAM2, n)) for n in SAM2_FILES) < 7_000_000


@pytest.fixture(scope="module")
def sam2():
    return build_sam2("sam2-tiny-test", checkpoint=os.path.join(TINY_SAM2, "model.pt"))


def test_interfaces():
    enc = _session("encoder.onnx")
    assert [(i.name, i.shape) for i in enc.get_inputs()] == [("image", [1, 3, 1024, 1024])]
    assert [(o.name, o.shape) for o in enc.get_outputs()] == [(n, FEATURE_SHAPES[n]) for n in FEATURES]
    dec = _session("decoder.onnx")
    assert [i.name for i in dec.get_inputs()] == DECODER_INPUTS
    assert [(o.name, o.shape) for o in dec.get_outputs()] == [("iou_predictions", [1, 4]),
                                                              ("low_res_masks", [1, 4, 256, 256])]
    batch = _session("decoder_batch.onnx")
    assert [i.name for i in batch.get_inputs()] == FEATURES + ["point_coords", "point_labels"]


def _features(sam2, seed):
    x = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        feats = sam2.forward_image(x)
    got = _session("encoder.onnx").run(None, {"image": x.numpy()})
    for g, w in zip(got, feats):
        assert np.abs(g - w.numpy()).max() < 1e-4 * max(1.0, float(w.abs().max()))
    return {n: f.numpy() for n, f in zip(FEATURES, feats)}


def test_encoder_and_decoder_match_pytorch(sam2):
    feats = _features(sam2, 1)
    # The three maps carry signal (not constant), so a decoder that ignored one would show.
    assert all(float(np.std(f)) > 1e-3 for f in feats.values())
    coords = np.array([[[100.0, 200.0], [600.0, 700.0], [300.0, 310.0]]], np.float32)
    labels = np.array([[2.0, 3.0, 1.0]], np.float32)
    mask = np.random.default_rng(2).standard_normal((1, 1, 256, 256)).astype(np.float32)
    for has_mask in (0.0, 1.0):
        feeds = {**feats, "point_coords": coords, "point_labels": labels, "mask_input": mask,
                 "has_mask_input": np.array([has_mask], np.float32)}
        iou, low = _session("decoder.onnx").run(None, feeds)
        with torch.no_grad():
            masks, iou_t = sam2.predict_masks(*[torch.from_numpy(feeds[n]) for n in DECODER_INPUTS])
        assert np.abs(low - masks.clamp(-32, 32).numpy()).max() < 1e-4
        assert np.abs(iou - iou_t.numpy()).max() < 1e-5
        assert ((iou > 0) & (iou < 1)).all()  # sigmoid IoU head


def test_high_res_features_change_the_masks(sam2):
    """SAM 2's upscaling adds the two high-resolution maps: each one matters."""
    feats = _features(sam2, 3)
    dec = _session("decoder.onnx")
    base = {**feats, "point_coords": np.array([[[512.0, 512.0]]], np.float32),
            "point_labels": np.array([[1.0]], np.float32), "mask_input": np.zeros((1, 1, 256, 256), np.float32),
            "has_mask_input": np.array([0.0], np.float32)}
    _, low = dec.run(None, base)
    for name in ("high_res_feats_0", "high_res_feats_1"):
        _, other = dec.run(None, {**base, name: np.zeros_like(feats[name])})
        assert np.abs(other - low).max() > 1e-3, name


def test_batch_decoder_equals_single_decoder(sam2):
    feats = _features(sam2, 4)
    pts = np.array([[[100.0, 900.0]], [[512.0, 512.0]], [[1000.0, 3.0]]], np.float32)
    iou_b, low_b = _session("decoder_batch.onnx").run(None, {**feats, "point_coords": pts,
                                                              "point_labels": np.ones((3, 1), np.float32)})
    dec = _session("decoder.onnx")
    for i in range(3):
        iou, low = dec.run(None, {**feats, "point_coords": pts[i:i + 1], "point_labels": np.ones((1, 1), np.float32),
                                  "mask_input": np.zeros((1, 1, 256, 256), np.float32),
                                  "has_mask_input": np.array([0.0], np.float32)})
        assert np.abs(low_b[i] - low[0]).max() < 1e-4 and np.abs(iou_b[i] - iou[0]).max() < 1e-5


def test_readme_sam2_table_is_what_the_code_counts():
    from model_paths import MODEL_DIR
    from sam_model.model_info import sam2_table

    with open(os.path.join(MODEL_DIR, "README.md")) as f:
        readme = f.read()
    rows = [r for r in sam2_table().splitlines() if r.startswith("| `")]
    assert len(rows) == 5
    for row in rows:
        assert row in readme
