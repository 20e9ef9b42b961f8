"""Exports the image encoder of a model type with seeded random weights, for timing only
(scripts/benchmark/encoder_run.mjs: MobileSAM's TinyViT, 5.7 M parameters, against the
bundled encoder). Uses our exporter (scripts/model/sam_model), so the ONNX graph is the
one an official MobileSAM checkpoint gives; only the weights are random.
    .venv/bin/python scripts/benchmark/make_random_encoder.py --model-type vit_t --out bench/models/vit_t"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model"))
from sam_model import build_sam  # noqa: E402
from sam_model.export import export_encoder  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model-type", default="vit_t")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    sam = build_sam(args.model_type)
    os.makedirs(args.out, exist_ok=True)
    export_encoder(sam, os.path.join(args.out, "encoder.onnx"))
    n = sum(p.numel() for p in sam.image_encoder.parameters())
    print(f"{args.out}/encoder.onnx: {args.model_type} image encoder, {n} parameters (random weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
