"""The bundled tiny test model (tests/fixtures/tiny): reproducible, loadable,
and its ONNX variants agree with each other and with PyTorch."""
import hashlib
import os
import subprocess

import numpy as np
import onnxruntime as ort
import pytest
import torch

from model_paths import ROOT, TINY

from sam_model import build_sam
from sam_model.onnx_decoder import DECODER_INPUTS, DecoderFull
from sam_model.tiny_model import FILES


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _session(name):
    return ort.InferenceSession(os.path.join(TINY, name), providers=["CPUExecutionProvider"])


def test_regenerating_gives_identical_bytes(tmp_path):
    r = subprocess.run([os.path.join(ROOT, "scripts", "model", "make-test-model"), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in FILES:
        assert _sha(tmp_path / name) == _sha(os.path.join(TINY, name)), name
    assert sum(os.path.getsize(os.path.join(TINY, n)) for n in FILES) < 9_000_000  # 8.5 MB with decoder.samw


@pytest.fixture(scope="module")
def sam():
    return build_sam("tiny-test", checkpoint=os.path.join(TINY, "model.pt"))


def _feeds(seed, n=3, has_mask=0.0, size=(480.0, 640.0)):
    rng = np.random.default_rng(seed)
    return {
        "image_embeddings": rng.standard_normal((1, 256, 64, 64)).astype(np.float32),
        "point_coords": (rng.random((1, n, 2)) * 1023).astype(np.float32),
        "point_labels": np.array([[1, 0, 2, 3, -1][i % 5] for i in range(n)], np.float32)[None],
        "mask_input": rng.standard_normal((1, 1, 256, 256)).astype(np.float32),
        "has_mask_input": np.array([has_mask], np.float32),
        "orig_im_size": np.array(size, np.float32),
    }


def test_interfaces():
    enc = _session("encoder.onnx")
    assert [(i.name, i.shape) for i in enc.get_inputs()] == [("image", [1, 3, 1024, 1024])]
    assert [(o.name, o.shape) for o in enc.get_outputs()] == [("image_embeddings", [1, 256, 64, 64])]
    official = ort.InferenceSession(os.path.join(TINY, "decoder_full.onnx"))
    for name, outs in (("decoder.onnx", ["iou_predictions", "low_res_masks"]),
                       ("decoder_full.onnx", ["masks", "iou_predictions", "low_res_masks"])):
        s = _session(name)
        assert [i.name for i in s.get_inputs()] == DECODER_INPUTS
        assert all(i.type == "tensor(float)" for i in s.get_inputs())
        assert [o.name for o in s.get_outputs()] == outs
    assert official is not None
    b = _session("decoder_batch.onnx")
    assert [i.name for i in b.get_inputs()] == ["image_embeddings", "point_coords", "point_labels"]


def test_encoder_onnx_matches_torch(sam):
    x = np.random.default_rng(1).standard_normal((1, 3, 1024, 1024)).astype(np.float32)
    got = _session("encoder.onnx").run(None, {"image": x})[0]
    with torch.no_grad():
        want = sam.image_encoder(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(got - want)) < 2e-5


@pytest.mark.parametrize("n,has_mask,size", [(1, 0.0, (480.0, 640.0)), (2, 1.0, (333.0, 1001.0)),
                                             (4, 0.0, (1024.0, 1024.0)), (7, 1.0, (90.0, 900.0))])
def test_fast_full_and_torch_agree(sam, n, has_mask, size):
    feeds = _feeds(n, n, has_mask, size)
    iou_f, low_f = _session("decoder.onnx").run(["iou_predictions", "low_res_masks"], feeds)
    masks, iou, low = _session("decoder_full.onnx").run(["masks", "iou_predictions", "low_res_masks"], feeds)
    assert iou_f.shape == (1, 4) and low_f.shape == (1, 4, 256, 256)
    assert masks.shape == (1, 4, int(size[0]), int(size[1]))
    assert np.max(np.abs(iou_f - iou)) < 1e-6 and np.max(np.abs(low_f - low)) < 1e-6
    want = DecoderFull(sam)(*[torch.from_numpy(feeds[k]) for k in DECODER_INPUTS])
    for got, w, tol in zip((masks, iou, low), want, (3e-5, 2e-6, 2e-6)):
        assert np.max(np.abs(got - w.numpy())) < tol


def test_batch_decoder_equals_single_prompts():
    rng = np.random.default_rng(9)
    emb = rng.standard_normal((1, 256, 64, 64)).astype(np.float32)
    coords = (rng.random((6, 1, 2)) * 1023).astype(np.float32)
    labels = np.ones((6, 1), np.float32)
    iou_b, low_b = _session("decoder_batch.onnx").run(None, {"image_embeddings": emb, "point_coords": coords,
                                                              "point_labels": labels})
    assert iou_b.shape == (6, 4) and low_b.shape == (6, 4, 256, 256)
    fast = _session("decoder.onnx")
    for i in range(6):
        feeds = {"image_embeddings": emb, "point_coords": np.concatenate([coords[i:i + 1], np.zeros((1, 1, 2),
                 np.float32)], 1), "point_labels": np.array([[1, -1]], np.float32),
                 "mask_input": np.zeros((1, 1, 256, 256), np.float32), "has_mask_input": np.zeros(1, np.float32),
                 "orig_im_size": np.array([1024, 1024], np.float32)}
        iou, low = fast.run(None, feeds)
        assert np.max(np.abs(iou - iou_b[i:i + 1])) < 1e-5 and np.max(np.abs(low - low_b[i:i + 1])) < 1e-5
