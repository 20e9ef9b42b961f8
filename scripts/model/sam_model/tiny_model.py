"""make-test-model: the tiny deterministic SAM bundled in tests/fixtures/tiny.

    scripts/model/make-test-model --out tests/fixtures/tiny

Same interfaces as the real models (encoder 1x3x1024x1024 -> 1x256x64x64,
decoders with the official inputs/outputs) but ~0.5 M random weights, so
tests run in milliseconds. Seeded init; every constant tensor (LayerNorm
weights/biases, zero pos_embed/rel-pos) gets +0.2*N(0,1) as in the reference
data, so that swapped or missing terms change the outputs. Byte-for-byte
reproducible: running it twice gives the same files.
"""
import argparse
import hashlib
import os
import sys

import torch

from .build import build_sam
from .export import DECODER_WEIGHTS_FILE, ExportError, export_decoder, export_decoder_weights, export_encoder

SEED = 20240607
FILES = ["encoder.onnx", "decoder.onnx", "decoder_full.onnx", "decoder_batch.onnx", DECODER_WEIGHTS_FILE, "model.pt"]


def make_tiny_sam():
    torch.manual_seed(SEED)
    sam = build_sam("tiny-test")
    with torch.no_grad():
        for _, t in sam.state_dict().items():
            if t.is_floating_point() and t.numel() > 0 and bool((t == t.flatten()[0]).all()):
                t.add_(0.2 * torch.randn(t.shape))
    return sam.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="make-test-model", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # same summation order on every machine for the checks
    os.makedirs(args.out, exist_ok=True)
    sam = make_tiny_sam()
    try:
        export_encoder(sam, os.path.join(args.out, "encoder.onnx"))
        export_decoder(sam, os.path.join(args.out, "decoder.onnx"), "fast")
        export_decoder(sam, os.path.join(args.out, "decoder_full.onnx"), "full")
        export_decoder(sam, os.path.join(args.out, "decoder_batch.onnx"), "batch")
        export_decoder_weights(sam, os.path.join(args.out, DECODER_WEIGHTS_FILE), "f32")
    except ExportError as e:
        print(f"make-test-model FAILED: {e}", file=sys.stderr)
        return 1
    torch.save(sam.state_dict(), os.path.join(args.out, "model.pt"))
    for name in FILES:
        path = os.path.join(args.out, name)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        print(f"{digest}  {name}  {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
