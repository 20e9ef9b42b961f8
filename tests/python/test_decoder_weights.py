"""The C++ decoder's weights file (decoder.samw, sam_model/decoder_weights.py): written by
scripts/model/export from full checkpoints and from decoder-only state dicts (the
reference decoder_state_dict.pt), every dimension read from the shapes, and bad state
dicts refused with the key that is wrong."""
import os
import struct
import zlib

import numpy as np
import pytest
import torch

from model_paths import REFERENCE, ROOT, TINY

from sam_model.decoder_weights import CONFIG_FIELDS, read_decoder_weights
from sam_model.export import main as export_main

STATE_DICT = os.path.join(REFERENCE, "decoder", "decoder_state_dict.pt")


def test_reference_state_dict_round_trips(tmp_path):
    assert export_main(["--decoder-weights-only", "--checkpoint", STATE_DICT, "--out", str(tmp_path)]) == 0
    config, tensors = read_decoder_weights(str(tmp_path / "decoder.samw"))
    assert config == dict(embed_dim=256, image_embedding_h=64, image_embedding_w=64, input_image_size=1024,
                          mask_in_chans=16, num_multimask_outputs=3, depth=2, num_heads=8, mlp_dim=2048,
                          mlp_activation=0, self_attention_dim=256, cross_attention_dim=128, iou_head_depth=3,
                          iou_head_hidden_dim=256, hypernet_hidden_dim=256, hypernet_depth=3)
    sd = torch.load(STATE_DICT)
    assert list(tensors) == list(sd)  # official names, state-dict order
    for k, v in sd.items():
        assert np.array_equal(tensors[k], v.numpy()), k
    assert sum(a.size for a in tensors.values()) == 4_064_816
    data = (tmp_path / "decoder.samw").read_bytes()
    assert data[:4] == b"SAMW" and struct.unpack_from("<I", data, len(data) - 4)[0] == zlib.crc32(data[:-4])


def test_bundled_and_tiny_files_match_their_checkpoints(tmp_path):
    # The committed weights files are what the exporter writes from the committed model.pt files.
    for folder, dtype in ((os.path.join(ROOT, "assets", "model"), np.float16), (TINY, np.float32)):
        out = tmp_path / os.path.basename(folder)
        assert export_main(["--decoder-weights-only", "--checkpoint", os.path.join(folder, "model.pt"),
                            "--out", str(out)]) == 0
        assert (out / "decoder.samw").read_bytes() == open(os.path.join(folder, "decoder.samw"), "rb").read()
        sd = torch.load(os.path.join(folder, "model.pt"))
        config, tensors = read_decoder_weights(os.path.join(folder, "decoder.samw"))
        assert config["mlp_dim"] == sd["mask_decoder.transformer.layers.0.mlp.lin1.weight"].shape[0]
        assert config["cross_attention_dim"] == sd["mask_decoder.transformer.final_attn_token_to_image.q_proj.weight"].shape[0]
        for k, a in tensors.items():
            assert np.array_equal(a, sd[k].float().numpy().astype(dtype).astype(np.float32)), k


def test_fp16_halves_the_file(tmp_path):
    assert export_main(["--decoder-weights-only", "--fp16", "--checkpoint", STATE_DICT, "--out", str(tmp_path)]) == 0
    assert os.path.getsize(tmp_path / "decoder.samw") < 0.55 * os.path.getsize(
        os.path.join(REFERENCE, "decoder", "decoder_state_dict.pt"))
    _, tensors = read_decoder_weights(str(tmp_path / "decoder.samw"))
    w = torch.load(STATE_DICT)["mask_decoder.iou_token.weight"].numpy()
    assert np.max(np.abs(tensors["mask_decoder.iou_token.weight"] - w)) < 1e-2 * np.max(np.abs(w))


@pytest.mark.parametrize("change, words", [
    ("drop", ["missing keys", "mask_decoder.transformer.layers.1.norm3.bias"]),
    ("reshape", ["wrong shapes", "mask_decoder.transformer.layers.1.mlp.lin1.bias"]),
    ("extra", ["unexpected keys", "mask_decoder.stray.weight"]),
])
def test_bad_state_dicts_are_refused(tmp_path, capsys, change, words):
    sd = torch.load(STATE_DICT)
    if change == "drop":
        del sd["mask_decoder.transformer.layers.1.norm3.bias"]
    elif change == "reshape":
        sd["mask_decoder.transformer.layers.1.mlp.lin1.bias"] = torch.zeros(7)
    else:
        sd["mask_decoder.stray.weight"] = torch.zeros(3)
    path = str(tmp_path / "bad.pt")
    torch.save(sd, path)
    assert export_main(["--decoder-weights-only", "--checkpoint", path, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert path in err and all(w in err for w in words), err
    assert not os.path.exists(tmp_path / "out" / "decoder.samw")


def test_config_field_order_is_the_documented_one():
    # The C++ reader (src/core/decoder_weights.cpp) reads these 16 fields in this order.
    src = open(os.path.join(ROOT, "src", "core", "decoder_weights.cpp")).read()
    names = src.split("k_field_names[k_decoder_config_fields] = {")[1].split("};")[0]
    assert [n.strip().strip('"') for n in names.replace("\n", " ").split(",") if n.strip()] == list(CONFIG_FIELDS)


def test_sam2_checkpoint_gives_the_sam2_file(tmp_path, capsys):
    """--decoder-weights-only on a SAM 2.1 checkpoint ({"model": state_dict}) writes the
    version-2 file make-test-model writes (the same bytes); a damaged one is refused."""
    from model_paths import TINY_SAM2

    ckpt = os.path.join(TINY_SAM2, "model.pt")
    assert export_main(["--decoder-weights-only", "--checkpoint", ckpt, "--out", str(tmp_path / "a")]) == 0
    got = (tmp_path / "a" / "decoder.samw").read_bytes()
    assert got == open(os.path.join(TINY_SAM2, "decoder.samw"), "rb").read()
    assert struct.unpack_from("<I", got, 4)[0] == 2
    config, tensors = read_decoder_weights(str(tmp_path / "a" / "decoder.samw"))
    assert config["family"] == 1 and config["depth"] == 1 and config["self_attention_dim"] == 32
    assert "sam_mask_decoder.obj_score_token.weight" in tensors
    assert not any(k.startswith(("sam_mask_decoder.conv_s", "sam_mask_decoder.pred_obj_score_head")) for k in tensors)
    sd = torch.load(ckpt)["model"]
    del sd["sam_mask_decoder.transformer.layers.0.norm3.bias"]
    bad = str(tmp_path / "bad.pt")
    torch.save({"model": sd}, bad)
    capsys.readouterr()
    assert export_main(["--decoder-weights-only", "--checkpoint", bad, "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert bad in err and "sam_mask_decoder.transformer.layers.0.norm3.bias" in err, err
    assert not os.path.exists(tmp_path / "b" / "decoder.samw")
