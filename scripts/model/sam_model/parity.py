"""Parity of our implementation with the official SAM/MobileSAM outputs.

    scripts/model/parity ../shared/sam-reference     # or any folder laid out like it

Runs every check whose files exist, prints each max |diff| next to its
tolerance (one line per check, a SKIP line for each missing part) and exits 0
only if all present checks pass. Tolerances are those measured in the
reference README: low_res_masks / iou_predictions 2e-6, full-res masks 3e-5,
encoder outputs 2e-5. Intermediate prompt embeddings get 1e-5: they are
sin/cos of arguments up to ~50, where one float32 ulp of the argument is ~4e-6.
The C++ decoder (part cpp-decoder: the native build's sam_decode, SAM_DECODE= to pick
another, with the weights file our exporter writes from decoder_state_dict.pt) prints one
line per case and output, "PASS cpp_decoder ..." or "FAIL cpp_decoder ...", within 1e-5.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from typing import Callable, List, Optional

import numpy as np
import torch

from .build import build_sam_decoder_only, load_state_dict_strict, read_state_dict
from .layers import LayerNorm2d
from .onnx_decoder import DecoderFull
from .sam import Sam
from .tiny_vit import TinyViT
from .vit_encoder import ImageEncoderViT

TOL = {"masks": 3e-5, "iou_predictions": 2e-6, "low_res_masks": 2e-6, "embedding": 1e-5, "encoder": 2e-5,
       "preprocess": 1e-6}

CPP_DECODER_TOL = 1e-5
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# Reduced ViT of image_encoder/vit_reduced_state_dict.pt (see the reference README).
REDUCED_VIT = dict(img_size=1024, patch_size=16, in_chans=3, embed_dim=64, depth=4, num_heads=2, mlp_ratio=4,
                   out_chans=256, qkv_bias=True, norm_eps=1e-6, use_abs_pos=True, use_rel_pos=True,
                   window_size=14, global_attn_indexes=(1, 3))

# A hook applied to every model before it runs: tests use it to plant a bug.
Mutator = Callable[[torch.nn.Module], None]


class Report:
    def __init__(self, out=sys.stdout) -> None:
        self.failed: List[str] = []
        self.passed = 0
        self.out = out

    def compare(self, name: str, got, want, tol: float) -> float:
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            self.failed.append(name)
            print(f"FAIL {name:48s} shape {got.shape} != expected {want.shape}", file=self.out)
            return float("inf")
        err = float(np.max(np.abs(got - want))) if got.size else 0.0
        ok = err <= tol and np.all(np.isfinite(got))
        print(f"{'PASS' if ok else 'FAIL'} {name:48s} max|diff| {err:.2e}  tol {tol:.0e}", file=self.out)
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)
        return err

    def skip(self, name: str, why: str) -> None:
        print(f"SKIP {name:48s} {why}", file=self.out)


def _cases(npz) -> List[str]:
    return sorted({k.split(".", 1)[0] for k in npz.files if k.endswith(".image_embeddings")})


def _inputs(npz, case: str):
    names = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"]
    return [torch.from_numpy(np.ascontiguousarray(npz[f"{case}.{n}"])) for n in names]


def check_decoder(ref: str, report: Report, mutate: Optional[Mutator] = None) -> None:
    sd_path = os.path.join(ref, "decoder", "decoder_state_dict.pt")
    io_path = os.path.join(ref, "decoder", "decoder_io.npz")
    if not (os.path.exists(sd_path) and os.path.exists(io_path)):
        report.skip("decoder (torch)", "decoder_state_dict.pt or decoder_io.npz missing")
        return
    sam = build_sam_decoder_only("vit_b", sd_path)
    if mutate:
        mutate(sam)
    io = np.load(io_path)
    pe = sam.prompt_encoder
    with torch.no_grad():
        if "dense_pe_ch0_15" in io.files:
            report.compare("decoder dense_pe[:16]", pe.get_dense_pe()[:, :16], io["dense_pe_ch0_15"], TOL["embedding"])
        if "no_mask_dense_embedding_vector" in io.files:
            report.compare("decoder no_mask_embed", pe.no_mask_embed.weight[0], io["no_mask_dense_embedding_vector"],
                           TOL["embedding"])
        for case in _cases(io):
            x = _inputs(io, case)
            if f"{case}.sparse_embedding" in io.files:
                report.compare(f"decoder {case} sparse_embedding", pe.embed_points_labels(x[1], x[2]),
                               io[f"{case}.sparse_embedding"], TOL["embedding"])
            if f"{case}.dense_embedding_ch0_15" in io.files:
                report.compare(f"decoder {case} dense_embedding[:16]", pe.embed_mask_or_default(x[3], x[4])[:, :16],
                               io[f"{case}.dense_embedding_ch0_15"], TOL["embedding"])
            for mode, single in (("multi", False), ("single", True)):
                if f"{case}.{mode}.low_res_masks" not in io.files:
                    report.skip(f"decoder {case} {mode}", "no stored outputs")
                    continue
                outs = DecoderFull(sam, return_single_mask=single)(*x)
                for name, got in zip(("masks", "iou_predictions", "low_res_masks"), outs):
                    report.compare(f"decoder {case} {mode} {name}", got, io[f"{case}.{mode}.{name}"], TOL[name])


def check_official_onnx(ref: str, report: Report) -> None:
    io_path = os.path.join(ref, "decoder", "decoder_io.npz")
    files = [("official_decoder.onnx", "multi"), ("official_decoder_single.onnx", "single")]
    present = [(f, m) for f, m in files if os.path.exists(os.path.join(ref, "decoder", f))]
    if not present or not os.path.exists(io_path):
        report.skip("official ONNX (onnxruntime)", "official_decoder*.onnx or decoder_io.npz missing")
        return
    import onnxruntime as ort

    io = np.load(io_path)
    for fname, mode in present:
        sess = ort.InferenceSession(os.path.join(ref, "decoder", fname), providers=["CPUExecutionProvider"])
        out_names = [o.name for o in sess.get_outputs()]
        for case in _cases(io):
            feeds = {n: t.numpy() for n, t in zip([i.name for i in sess.get_inputs()], _inputs(io, case))}
            outs = dict(zip(out_names, sess.run(None, feeds)))
            for name in ("masks", "iou_predictions", "low_res_masks"):
                report.compare(f"{fname} {case} {name}", outs[name], io[f"{case}.{mode}.{name}"], TOL[name])


def check_our_onnx(ref: str, report: Report) -> None:
    """Export our decoders from decoder_state_dict.pt (as `export --decoder-only` does)
    and run them in onnxruntime against the official PyTorch outputs."""
    sd_path = os.path.join(ref, "decoder", "decoder_state_dict.pt")
    io_path = os.path.join(ref, "decoder", "decoder_io.npz")
    if not (os.path.exists(sd_path) and os.path.exists(io_path)):
        report.skip("our ONNX export", "decoder_state_dict.pt or decoder_io.npz missing")
        return
    import tempfile

    import onnxruntime as ort

    from .export import export_decoder

    sam = build_sam_decoder_only("vit_b", sd_path)
    io = np.load(io_path)
    with tempfile.TemporaryDirectory(prefix="sam_parity_") as tmp:
        for variant, mode in (("full", "multi"), ("full", "single"), ("fast", "multi")):
            path = os.path.join(tmp, f"decoder_{variant}_{mode}.onnx")
            export_decoder(sam, path, variant, return_single_mask=mode == "single", log=lambda *a: None)
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            names = [o.name for o in sess.get_outputs()]
            for case in _cases(io):
                feeds = {n: t.numpy() for n, t in zip([i.name for i in sess.get_inputs()], _inputs(io, case))}
                for name, got in zip(names, sess.run(None, feeds)):
                    report.compare(f"our {variant} ONNX {case} {mode} {name}", got, io[f"{case}.{mode}.{name}"],
                                   TOL[name])


def check_cpp_decoder(ref: str, report: Report) -> None:
    """Our C++ decoder (src/core/sam_decoder.h) on DIR's decoder cases, through the native tool."""
    sd_path = os.path.join(ref, "decoder", "decoder_state_dict.pt")
    io_path = os.path.join(ref, "decoder", "decoder_io.npz")
    if not (os.path.exists(sd_path) and os.path.exists(io_path)):
        report.skip("cpp_decoder", "decoder_state_dict.pt or decoder_io.npz missing")
        return
    tool = os.environ.get("SAM_DECODE") or os.path.join(REPO, "build", "native", "sam_decode")
    if not os.access(tool, os.X_OK):
        report.failed.append("cpp_decoder")
        print(f"FAIL cpp_decoder {tool} not found: build it (cmake --build build/native --target sam_decode)",
              file=report.out)
        return
    from .export import export_decoder_weights_only

    io = np.load(io_path)
    names = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input"]
    with tempfile.TemporaryDirectory(prefix="sam_cpp_parity_") as tmp:
        export_decoder_weights_only(sd_path, tmp, fp16=False, num_heads=8, log=lambda *a: None)
        cases, out = os.path.join(tmp, "cases"), os.path.join(tmp, "out")
        os.makedirs(cases)
        for case in _cases(io):
            for n in names:
                np.save(os.path.join(cases, f"{case}.{n}.npy"), io[f"{case}.{n}"])
        r = subprocess.run([tool, "--weights", os.path.join(tmp, "decoder.samw"), "--cases", cases, "--out", out],
                           capture_output=True, text=True)
        said = {line.split(" ", 1)[0]: line for line in r.stdout.splitlines()}
        for case in _cases(io):
            iou_file = os.path.join(out, f"{case}.iou_predictions.npy")
            if not os.path.exists(iou_file):
                report.failed.append(f"cpp_decoder {case}")
                why = said.get(case, r.stderr.strip()[-300:] or f"exit status {r.returncode}")
                print(f"FAIL cpp_decoder {case}: {why}", file=report.out)
                continue
            iou = np.load(iou_file)
            low = np.load(os.path.join(out, f"{case}.low_res_masks.npy"))
            for name, got in (("iou_predictions", iou), ("low_res_masks", low)):
                report.compare(f"cpp_decoder {case} multi {name}", got, io[f"{case}.multi.{name}"], CPP_DECODER_TOL)
            # The official single-mask rule on the C++ IoUs.
            n = io[f"{case}.point_labels"].shape[1]
            best = int(np.argmax(iou[0] + (n - 2.5) * np.array([1000.0] + [0.0] * (iou.shape[1] - 1))))
            if f"{case}.single.best_index" in io.files:
                report.compare(f"cpp_decoder {case} single best_index", [best], io[f"{case}.single.best_index"], 0)
            for name, got in (("iou_predictions", iou[:, best:best + 1]), ("low_res_masks", low[:, best:best + 1])):
                report.compare(f"cpp_decoder {case} single {name}", got, io[f"{case}.single.{name}"], CPP_DECODER_TOL)


def _check_encoder(report: Report, name: str, module: torch.nn.Module, sd_path: str, io_path: str,
                   mutate: Optional[Mutator]) -> None:
    if not (os.path.exists(sd_path) and os.path.exists(io_path)):
        report.skip(name, f"{os.path.basename(sd_path)} or {os.path.basename(io_path)} missing")
        return
    load_state_dict_strict(module, read_state_dict(sd_path), source=sd_path)
    module.eval()
    if mutate:
        mutate(module)
    io = np.load(io_path)
    with torch.no_grad():
        out = module(torch.from_numpy(io["input"]))
    report.compare(f"{name} output", out, io["output"], TOL["encoder"])


def check_vit(ref: str, report: Report, mutate: Optional[Mutator] = None) -> None:
    d = os.path.join(ref, "image_encoder")
    _check_encoder(report, "reduced ViT", ImageEncoderViT(**REDUCED_VIT), os.path.join(d, "vit_reduced_state_dict.pt"),
                   os.path.join(d, "vit_reduced_io.npz"), mutate)


def check_tinyvit(ref: str, report: Report, mutate: Optional[Mutator] = None) -> None:
    d = os.path.join(ref, "tinyvit")
    _check_encoder(report, "TinyViT", TinyViT(), os.path.join(d, "tinyvit_state_dict.pt"),
                   os.path.join(d, "tinyvit_io.npz"), mutate)


def check_preprocess(ref: str, report: Report) -> None:
    path = os.path.join(ref, "preprocess", "preprocess.npz")
    if not os.path.exists(path):
        report.skip("preprocess", "preprocess.npz missing")
        return
    from .build import EncoderPlaceholder

    sam = Sam(EncoderPlaceholder(), torch.nn.Identity(), torch.nn.Identity())
    pp = np.load(path)
    i = 0
    while f"img{i}.resized" in pp.files:
        resized = torch.from_numpy(pp[f"img{i}.resized"]).permute(2, 0, 1)[None].float()
        report.compare(f"preprocess img{i} encoder_input", sam.preprocess(resized), pp[f"img{i}.encoder_input"],
                       TOL["preprocess"])
        i += 1


PARTS = ("decoder", "official-onnx", "our-onnx", "cpp-decoder", "vit", "tinyvit", "preprocess")


def run_all(ref: str, mutate: Optional[Mutator] = None, out=sys.stdout, parts=PARTS) -> Report:
    report = Report(out)
    if not os.path.isdir(ref):
        report.failed.append(f"{ref} is not a folder")
        print(f"FAIL {ref} is not a folder", file=out)
        return report
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    checks = {"decoder": lambda: check_decoder(ref, report, mutate), "official-onnx": lambda: check_official_onnx(ref, report),
              "our-onnx": lambda: check_our_onnx(ref, report), "cpp-decoder": lambda: check_cpp_decoder(ref, report),
              "vit": lambda: check_vit(ref, report, mutate), "tinyvit": lambda: check_tinyvit(ref, report, mutate),
              "preprocess": lambda: check_preprocess(ref, report)}
    for part in parts:
        checks[part]()
    return report


def set_layernorm2d_eps(eps: float) -> Mutator:
    """A planted bug for the self-test: every LayerNorm2d gets the wrong eps."""
    def mutate(module: torch.nn.Module) -> None:
        for m in module.modules():
            if isinstance(m, LayerNorm2d):
                m.eps = eps
    return mutate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="parity", description=__doc__.split("\n\n")[0])
    ap.add_argument("reference", help="folder laid out like shared/sam-reference")
    ap.add_argument("--layernorm2d-eps", type=float, default=None,
                    help="plant a bug: use this LayerNorm2d eps (official 1e-6) to see parity fail")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"comma-separated subset of {','.join(PARTS)} (default: all)")
    args = ap.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        ap.error(f"--parts: unknown {','.join(unknown) or '(empty)'}; choose from {','.join(PARTS)}")
    mutate = set_layernorm2d_eps(args.layernorm2d_eps) if args.layernorm2d_eps is not None else None
    report = run_all(args.reference, mutate, parts=parts)
    print(f"{report.passed} passed, {len(report.failed)} failed")
    return 0 if not report.failed and report.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
