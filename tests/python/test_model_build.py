"""Builders and checkpoint loading: official key/shape layout and strict loads."""
import json
import os
from collections import OrderedDict

import numpy as np
import pytest
import torch

from model_paths import REFERENCE

from sam_model import CheckpointError, build_sam, build_sam_decoder_only, parameter_counts, state_shapes

needs_reference = pytest.mark.usefixtures("require_reference")  # fails when ../shared is missing

KEY_FILES = {"vit_b": "image_encoder/keys_vit_b.json", "vit_l": "image_encoder/keys_vit_l.json",
             "vit_h": "image_encoder/keys_vit_h.json", "vit_t": "tinyvit/keys_vit_t.json"}


@needs_reference
@pytest.mark.parametrize("model_type", sorted(KEY_FILES))
def test_state_dict_keys_and_shapes_equal_official(model_type):
    with open(os.path.join(REFERENCE, KEY_FILES[model_type])) as f:
        expected = json.load(f)
    got = state_shapes(model_type)
    assert list(got) == list(expected)  # same keys, same order
    bad = [k for k in expected if got[k] != expected[k]]
    assert bad == []
    total = sum(int(np.prod(s)) if s else 1 for s in expected.values())
    assert parameter_counts(model_type)["total"] == total


def test_parameter_counts_split():
    c = parameter_counts("vit_b")
    assert c["image_encoder"] + c["prompt_encoder"] + c["mask_decoder"] == c["total"]
    # the decoder is the same for every official model
    assert parameter_counts("vit_h")["mask_decoder"] == c["mask_decoder"] == parameter_counts("vit_t")["mask_decoder"]


def test_unknown_model_type():
    with pytest.raises(ValueError, match="unknown model type"):
        build_sam("vit_x")


def test_checkpoint_errors_list_missing_unexpected_and_shapes(tmp_path):
    sd = build_sam("tiny-test").state_dict()
    sd = OrderedDict(sd)
    del sd["mask_decoder.iou_token.weight"]
    sd["mask_decoder.extra.weight"] = torch.zeros(3)
    sd["prompt_encoder.no_mask_embed.weight"] = torch.zeros(1, 7)
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointError) as e:
        build_sam("tiny-test", checkpoint=str(path))
    msg = str(e.value)
    assert str(path) in msg
    assert "missing keys (1)" in msg and "mask_decoder.iou_token.weight" in msg
    assert "unexpected keys (1)" in msg and "mask_decoder.extra.weight" in msg
    assert "prompt_encoder.no_mask_embed.weight: file (1, 7) vs model (1, 256)" in msg


def test_checkpoint_of_other_model_type_is_refused(tmp_path):
    path = tmp_path / "tiny.pth"
    torch.save(build_sam("tiny-test").state_dict(), path)
    with pytest.raises(CheckpointError, match="missing keys"):
        build_sam("vit_t", checkpoint=str(path))


@needs_reference
def test_mobilesam_checkpoint_loads_and_reproduces_reference(tmp_path):
    """A MobileSAM-layout checkpoint assembled from the reference state dicts loads
    strictly and its encoder reproduces tinyvit_io (the official `ab` pitfall would
    give 6.7e-3 here)."""
    enc = torch.load(os.path.join(REFERENCE, "tinyvit", "tinyvit_state_dict.pt"), map_location="cpu")
    dec = torch.load(os.path.join(REFERENCE, "decoder", "decoder_state_dict.pt"), map_location="cpu")
    full = OrderedDict([("image_encoder." + k, v) for k, v in enc.items()] + list(dec.items()))
    path = tmp_path / "mobile_sam.pt"
    torch.save(full, path)
    sam = build_sam("vit_t", checkpoint=str(path))
    io = np.load(os.path.join(REFERENCE, "tinyvit", "tinyvit_io.npz"))
    with torch.no_grad():
        out = sam.image_encoder(torch.from_numpy(io["input"])).numpy()
    assert np.max(np.abs(out - io["output"])) < 2e-5


@needs_reference
def test_decoder_only_checkpoint():
    sam = build_sam_decoder_only("vit_b", os.path.join(REFERENCE, "decoder", "decoder_state_dict.pt"))
    sd = torch.load(os.path.join(REFERENCE, "decoder", "decoder_state_dict.pt"), map_location="cpu")
    for k, v in sd.items():
        assert torch.equal(sam.state_dict()[k], v)
    with pytest.raises(RuntimeError, match="without an image encoder"):
        sam.image_encoder(torch.zeros(1, 3, 1024, 1024))


def test_readme_parameter_table_is_what_the_code_counts():
    from model_paths import MODEL_DIR
    from sam_model.model_info import table

    with open(os.path.join(MODEL_DIR, "README.md")) as f:
        readme = f.read()
    rows = [r for r in table().splitlines() if r.startswith("| `") and r.split("`")[1] in
            ("vit_b", "vit_l", "vit_h", "vit_t", "tiny-test")]
    assert len(rows) == 5
    for row in rows:
        assert row in readme
