"""scripts/model/export options: decoder-only from a state dict, single mask,
fp16 weights, opset, encoder-only, and clear refusals of bad checkpoints."""
import hashlib
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from model_paths import TINY

from sam_model import build_sam
from sam_model.export import main as export_main
from sam_model.onnx_decoder import DECODER_INPUTS, DecoderFast

MODEL_PT = os.path.join(TINY, "model.pt")


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _feeds(seed, n):
    rng = np.random.default_rng(seed)
    return {
        "image_embeddings": rng.standard_normal((1, 256, 64, 64)).astype(np.float32),
        "point_coords": (rng.random((1, n, 2)) * 1023).astype(np.float32),
        "point_labels": np.array([[1, 0, 2, 3, -1][i % 5] for i in range(n)], np.float32)[None],
        "mask_input": np.zeros((1, 1, 256, 256), np.float32),
        "has_mask_input": np.zeros(1, np.float32),
        "orig_im_size": np.array([400, 600], np.float32),
    }


def test_decoder_only_export_equals_the_fixture(tmp_path):
    # model.pt is a full state dict: --decoder-only must take its decoder keys and
    # give the decoder make-test-model wrote (same outputs; generated tensor names
    # differ because the full model also holds the unused encoder).
    assert export_main(["--model-type", "tiny-test", "--checkpoint", MODEL_PT, "--decoder-only", "--out",
                        str(tmp_path)]) == 0
    assert sorted(os.listdir(tmp_path)) == ["decoder.onnx", "decoder.samw", "decoder_full.onnx"]
    assert _sha(tmp_path / "decoder.samw") == _sha(os.path.join(TINY, "decoder.samw"))
    for name, outputs in (("decoder.onnx", ["iou_predictions", "low_res_masks"]),
                          ("decoder_full.onnx", ["masks", "iou_predictions", "low_res_masks"])):
        ours = ort.InferenceSession(str(tmp_path / name), providers=["CPUExecutionProvider"])
        fixture = ort.InferenceSession(os.path.join(TINY, name), providers=["CPUExecutionProvider"])
        assert [o.name for o in ours.get_outputs()] == outputs
        feeds = _feeds(3, 3)
        for got, want in zip(ours.run(outputs, feeds), fixture.run(outputs, feeds)):
            assert got.shape == want.shape and np.max(np.abs(got - want)) < 1e-6


def test_single_mask_fp16_opset16(tmp_path):
    assert export_main(["--model-type", "tiny-test", "--checkpoint", MODEL_PT, "--decoder-only", "--return-single-mask",
                        "--fp16", "--opset", "16", "--out", str(tmp_path)]) == 0
    path = str(tmp_path / "decoder.onnx")
    model = onnx.load(path)
    assert model.opset_import[0].version == 16
    halves = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
    assert len(halves) > 10
    assert os.path.getsize(path) < 0.7 * os.path.getsize(os.path.join(TINY, "decoder.onnx"))
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == DECODER_INPUTS
    assert all(i.type == "tensor(float)" for i in sess.get_inputs())
    sam = build_sam("tiny-test", checkpoint=MODEL_PT)
    for n in (1, 4):  # n=1: best multimask token; n>=3: token 0
        feeds = _feeds(n, n)
        iou, low = sess.run(["iou_predictions", "low_res_masks"], feeds)
        assert iou.shape == (1, 1) and low.shape == (1, 1, 256, 256) and low.dtype == np.float32
        with torch.no_grad():
            want_iou, want_low = DecoderFast(sam, return_single_mask=True)(*[torch.from_numpy(feeds[k])
                                                                            for k in DECODER_INPUTS])
            all_iou, all_low = DecoderFast(sam)(*[torch.from_numpy(feeds[k]) for k in DECODER_INPUTS])
        # float16 weights: ~1e-3 relative; the selected mask must be the same one.
        assert np.max(np.abs(low - want_low.numpy())) < 5e-3
        best = int(np.argmin(np.max(np.abs(all_low.numpy()[0] - low[0]), axis=(1, 2))))
        assert best == (0 if n >= 3 else 1 + int(torch.argmax(all_iou[0, 1:])))


def test_encoder_only(tmp_path):
    assert export_main(["--model-type", "tiny-test", "--checkpoint", MODEL_PT, "--encoder-only", "--out",
                        str(tmp_path)]) == 0
    assert os.listdir(tmp_path) == ["encoder.onnx"]
    assert _sha(tmp_path / "encoder.onnx") == _sha(os.path.join(TINY, "encoder.onnx"))


def test_bad_checkpoints_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        export_main(["--model-type", "vit_b", "--out", str(tmp_path)])  # no checkpoint for a real model
    assert "--checkpoint is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export_main(["--model-type", "vit_b", "--checkpoint", str(tmp_path / "nope.pth"), "--out", str(tmp_path)])
    assert "does not exist" in capsys.readouterr().err
    # The tiny state dict is not a vit_t checkpoint: a strict load names what is wrong.
    assert export_main(["--model-type", "vit_t", "--checkpoint", MODEL_PT, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert MODEL_PT in err and "missing keys" in err and "unexpected keys" in err
