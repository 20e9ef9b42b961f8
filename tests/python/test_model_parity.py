"""scripts/model/parity against the shared reference data, and proof that the
tolerances catch small plausible bugs."""
import io
import os
import subprocess

import pytest
import torch

from model_paths import REFERENCE, ROOT

from sam_model import parity

needs_reference = pytest.mark.usefixtures("require_reference")  # fails when ../shared is missing


@needs_reference
def test_parity_script_passes_on_reference():
    r = subprocess.run([os.path.join(ROOT, "scripts", "model", "parity"), REFERENCE], capture_output=True, text=True,
                       timeout=600)
    print(r.stdout[-3000:], r.stderr[-3000:])
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    # Every part of the reference folder was checked, none skipped.
    for part in ("decoder a multi low_res_masks", "official_decoder.onnx e masks", "reduced ViT output",
                 "TinyViT output", "preprocess img3", "our full ONNX e single masks",
                 "our fast ONNX a multi low_res_masks", "cpp_decoder a multi low_res_masks",
                 "cpp_decoder e single low_res_masks", "cpp_decoder c single best_index"):
        assert any(line.startswith("PASS") and part in line for line in lines), part
    assert not any(line.startswith("SKIP") for line in lines)


@needs_reference
def test_parity_script_fails_with_wrong_layernorm2d_eps():
    r = subprocess.run([os.path.join(ROOT, "scripts", "model", "parity"), REFERENCE, "--layernorm2d-eps", "1e-5",
                        "--parts", "decoder,vit"], capture_output=True, text=True, timeout=600)
    assert r.returncode != 0
    assert any(line.startswith("FAIL decoder") and "low_res_masks" in line for line in r.stdout.splitlines())
    assert any(line.startswith("FAIL reduced ViT") for line in r.stdout.splitlines())


def _decoder_report(mutate):
    report = parity.Report(out=io.StringIO())
    parity.check_decoder(REFERENCE, report, mutate)
    return report


@needs_reference
def test_decoder_tolerance_catches_nn_layernorm_eps():
    # The subtlest bug in the reference table: decoder nn.LayerNorm eps 1e-6 instead of 1e-5.
    def mutate(sam):
        for m in sam.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.eps = 1e-6
    assert _decoder_report(None).failed == []
    assert _decoder_report(mutate).failed


@needs_reference
def test_decoder_tolerance_catches_tanh_gelu():
    def mutate(sam):
        for m in sam.modules():
            if isinstance(m, torch.nn.GELU):
                m.approximate = "tanh"
    assert _decoder_report(mutate).failed


def test_parity_script_skips_missing_parts(tmp_path):
    (tmp_path / "decoder").mkdir()
    r = subprocess.run([os.path.join(ROOT, "scripts", "model", "parity"), str(tmp_path)], capture_output=True,
                       text=True, timeout=120)
    assert "SKIP" in r.stdout
    assert r.returncode != 0  # nothing was checked: not a pass


@needs_reference
def test_cpp_decoder_lines_fail_on_other_outputs_and_without_the_tool(tmp_path):
    # A folder laid out like the reference whose stored case e output is off by 1e-4:
    # the C++ decoder's line for it must say FAIL, the others PASS.
    import numpy as np

    (tmp_path / "decoder").mkdir()
    os.symlink(os.path.join(REFERENCE, "decoder", "decoder_state_dict.pt"), tmp_path / "decoder" / "decoder_state_dict.pt")
    io = dict(np.load(os.path.join(REFERENCE, "decoder", "decoder_io.npz")))
    io["e.multi.low_res_masks"] = io["e.multi.low_res_masks"] + np.float32(1e-4)
    np.savez(tmp_path / "decoder" / "decoder_io.npz", **io)
    parity_cmd = [os.path.join(ROOT, "scripts", "model", "parity"), str(tmp_path), "--parts", "cpp-decoder"]
    r = subprocess.run(parity_cmd, capture_output=True, text=True, timeout=600)
    lines = r.stdout.splitlines()
    assert r.returncode == 1, r.stdout
    assert [l.split()[:5] for l in lines if l.startswith("FAIL")] == [["FAIL", "cpp_decoder", "e", "multi", "low_res_masks"]]
    assert sum(l.startswith("PASS cpp_decoder") for l in lines) == 24
    r = subprocess.run(parity_cmd, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "SAM_DECODE": str(tmp_path / "no_such_tool")})
    assert r.returncode == 1 and "FAIL cpp_decoder" in r.stdout and "not found" in r.stdout
