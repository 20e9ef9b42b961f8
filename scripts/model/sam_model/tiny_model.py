"""make-test-model: the tiny deterministic test models bundled in tests/fixtures.

    scripts/model/make-test-model --out tests/fixtures/tiny                                   # SAM 1
    scripts/model/make-test-model --model-type sam2-tiny-test --out tests/fixtures/tiny_sam2  # SAM 2.1

Same interfaces as the real models but few random weights, so tests run in
milliseconds. SAM 1 (tiny-test): encoder 1x3x1024x1024 -> 1x256x64x64,
decoders with the official inputs/outputs. SAM 2.1 (sam2-tiny-test): encoder
1x3x1024x1024 -> image_embed 1x256x64x64, high_res_feats_0 1x32x256x256,
high_res_feats_1 1x64x128x128, decoder.onnx / decoder_batch.onnx as
sam2_onnx.py describes, and model.json. Seeded init; every constant tensor
(LayerNorm weights/biases, zero pos_embed/rel-pos, no_mem_embed) gets
+0.2*N(0,1) as in the reference data, so that swapped or missing terms change
the outputs. Byte-for-byte reproducible: running it twice gives the same files.
"""
import argparse
import hashlib
import os
import sys

import torch

from .build import build_sam
from .build_sam2 import build_sam2
from .export import DECODER_WEIGHTS_FILE, ExportError, export_decoder, export_decoder_weights, export_encoder
from .sam2_export import export_sam2_decoder, export_sam2_decoder_weights, export_sam2_encoder, write_model_json

SEED = 20240607
FILES = ["encoder.onnx", "decoder.onnx", "decoder_full.onnx", "decoder_batch.onnx", DECODER_WEIGHTS_FILE, "model.pt"]
SAM2_SEED = 20241201
SAM2_FILES = ["encoder.onnx", "decoder.onnx", "decoder_batch.onnx", DECODER_WEIGHTS_FILE, "model.pt", "model.json"]


def _perturb_constants(model):
    with torch.no_grad():
        for _, t in model.state_dict().items():
            if t.is_floating_point() and t.numel() > 0 and bool((t == t.flatten()[0]).all()):
                t.add_(0.2 * torch.randn(t.shape))
    return model.eval()


def make_tiny_sam():
    torch.manual_seed(SEED)
    return _perturb_constants(build_sam("tiny-test"))


def make_tiny_sam2():
    torch.manual_seed(SAM2_SEED)
    return _perturb_constants(build_sam2("sam2-tiny-test"))


def _write_sam1(out):
    sam = make_tiny_sam()
    export_encoder(sam, os.path.join(out, "encoder.onnx"))
    export_decoder(sam, os.path.join(out, "decoder.onnx"), "fast")
    export_decoder(sam, os.path.join(out, "decoder_full.onnx"), "full")
    export_decoder(sam, os.path.join(out, "decoder_batch.onnx"), "batch")
    export_decoder_weights(sam, os.path.join(out, DECODER_WEIGHTS_FILE), "f32")
    torch.save(sam.state_dict(), os.path.join(out, "model.pt"))
    return FILES


def _write_sam2(out):
    sam2 = make_tiny_sam2()
    export_sam2_encoder(sam2, os.path.join(out, "encoder.onnx"))
    export_sam2_decoder(sam2, os.path.join(out, "decoder.onnx"))
    export_sam2_decoder(sam2, os.path.join(out, "decoder_batch.onnx"), batch=True)
    export_sam2_decoder_weights(sam2, os.path.join(out, DECODER_WEIGHTS_FILE), "f32")
    # As official checkpoints store it: {"model": state_dict}.
    torch.save({"model": sam2.state_dict()}, os.path.join(out, "model.pt"))
    write_model_json(out, "sam2-tiny-test", None, model_id="sam2.1-tiny-test")
    return SAM2_FILES


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="make-test-model", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--model-type", default="tiny-test", choices=["tiny-test", "sam2-tiny-test"])
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # same summation order on every machine for the checks
    os.makedirs(args.out, exist_ok=True)
    try:
        files = _write_sam2(args.out) if args.model_type == "sam2-tiny-test" else _write_sam1(args.out)
    except ExportError as e:
        print(f"make-test-model FAILED: {e}", file=sys.stderr)
        return 1
    for name in files:
        path = os.path.join(args.out, name)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        print(f"{digest}  {name}  {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
