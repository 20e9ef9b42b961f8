"""ONNX export of SAM 2.1 (what scripts/model/export runs for the sam2.1_* model
types), each file checked against PyTorch in onnxruntime.

    scripts/model/export --model-type sam2.1_hiera_t --checkpoint sam2.1_hiera_tiny.pt --out models/sam2.1_hiera_t

writes encoder.onnx, decoder.onnx (and decoder_batch.onnx with --batch) with the
interface of sam2_onnx.py, decoder.samw (the C++ decoder's weights, SAM 2.1 family:
decoder_weights.py; f16 with --fp16) beside decoder.onnx, and model.json ({"id", "family": "sam2.1",
"model_type", "checkpoint", "checkpoint_sha256"}). Above tolerance (1e-4 x the
output's magnitude; 5e-3 with --fp16) the export fails with exit status 1.
"""
import hashlib
import json
import os
import sys
from typing import Dict, List, Optional

import torch

from .build import CheckpointError
from .build_sam2 import build_sam2
from .decoder_weights import check_written, config_from_sam2, write_decoder_weights
from .export import DECODER_WEIGHTS_FILE, ExportError, export_checked
from .sam2 import Sam2
from .sam2_onnx import (BATCH_INPUTS, DECODER_INPUTS, DECODER_OUTPUTS, ENCODER_INPUT, FEATURE_SHAPES, FEATURES,
                        Sam2DecoderBatchOnnx, Sam2DecoderOnnx, Sam2EncoderOnnx)

FAMILY = "sam2.1"


def _features(g: torch.Generator) -> Dict[str, torch.Tensor]:
    return {n: torch.randn(*FEATURE_SHAPES[n], generator=g) for n in FEATURES}


def _decoder_example(seed: int, num_points: int = 3, batch: Optional[int] = None) -> Dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ex = _features(g)
    if batch is not None:
        ex["point_coords"] = torch.randint(0, 1024, (batch, 1, 2), generator=g).float()
        ex["point_labels"] = torch.ones(batch, 1)
        return ex
    ex["point_coords"] = torch.randint(0, 1024, (1, num_points, 2), generator=g).float()
    ex["point_labels"] = torch.tensor([[2.0, 3.0, 1.0, 0.0, -1.0][i % 5] for i in range(num_points)])[None]
    ex["mask_input"] = torch.randn(1, 1, 256, 256, generator=g)
    ex["has_mask_input"] = torch.tensor([1.0])
    return ex


def export_sam2_encoder(sam2: Sam2, path: str, opset: int = 17, fp16: bool = False, log=print) -> None:
    x = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(0))
    export_checked(Sam2EncoderOnnx(sam2), path, {ENCODER_INPUT: x}, [ENCODER_INPUT], FEATURES, {}, [], opset, fp16, log)


def export_sam2_decoder(sam2: Sam2, path: str, batch: bool = False, opset: int = 17, fp16: bool = False,
                        log=print) -> None:
    """decoder.onnx, or decoder_batch.onnx with batch; checked with other N / B than
    traced (those axes are dynamic)."""
    if batch:
        dynamic = {"point_coords": {0: "batch"}, "point_labels": {0: "batch"},
                   "iou_predictions": {0: "batch"}, "low_res_masks": {0: "batch"}}
        export_checked(Sam2DecoderBatchOnnx(sam2), path, _decoder_example(1, batch=4), BATCH_INPUTS, DECODER_OUTPUTS,
                       dynamic, [_decoder_example(2, batch=7)], opset, fp16, log,
                       {"iou_predictions": ["batch", 4], "low_res_masks": ["batch", 4, 256, 256]})
        return
    dynamic = {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}
    no_mask = _decoder_example(2, num_points=1)
    no_mask["has_mask_input"] = torch.tensor([0.0])
    export_checked(Sam2DecoderOnnx(sam2), path, _decoder_example(1, num_points=5), DECODER_INPUTS, DECODER_OUTPUTS,
                   dynamic, [no_mask, _decoder_example(3, num_points=4)], opset, fp16, log,
                   {"iou_predictions": [1, 4], "low_res_masks": [1, 4, 256, 256]})


def export_sam2_decoder_weights(sam2: Sam2, path: str, dtype: str = "f32", log=print) -> None:
    """decoder.samw (SAM 2.1 family) for the C++ decoder, read back and compared."""
    sd = sam2.state_dict()
    config = write_decoder_weights(path, sd, config_from_sam2(sam2), dtype)
    n = check_written(path, sd, dtype)
    dims = ", ".join(f"{k} {v}" for k, v in config.items())
    log(f"  {os.path.basename(path)} {n:,} values ({dtype}), read back exactly; {dims}")


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_model_json(out: str, model_type: str, checkpoint: Optional[str], model_id: Optional[str] = None) -> None:
    info = {"id": model_id or model_type, "family": FAMILY, "model_type": model_type}
    if checkpoint is not None:
        info["checkpoint"] = os.path.basename(checkpoint)
        info["checkpoint_sha256"] = _sha256(checkpoint)
    with open(os.path.join(out, "model.json"), "w") as f:
        f.write(json.dumps(info, indent=1) + "\n")


def run(args) -> int:
    """The export CLI (export.py's parsed arguments) for a SAM 2 model type."""
    if args.return_single_mask:
        print("export FAILED: --return-single-mask is SAM 1's rule; SAM 2's decoder always returns the 4 masks "
              "(the stability-based choice runs after it, see sam2_onnx.py)", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    try:
        sam2 = build_sam2(args.model_type, args.checkpoint)
    except CheckpointError as e:
        print(f"export FAILED: {e}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    jobs: List = []
    if not args.decoder_only:
        jobs.append(("encoder.onnx", lambda p: export_sam2_encoder(sam2, p, args.opset, args.fp16)))
    if not args.encoder_only:
        jobs.append(("decoder.onnx", lambda p: export_sam2_decoder(sam2, p, False, args.opset, args.fp16)))
        jobs.append((DECODER_WEIGHTS_FILE,
                     lambda p: export_sam2_decoder_weights(sam2, p, "f16" if args.fp16 else "f32")))
        if args.batch:
            jobs.append(("decoder_batch.onnx", lambda p: export_sam2_decoder(sam2, p, True, args.opset, args.fp16)))
    try:
        for name, job in jobs:
            print(f"exporting {args.out}/{name}")
            job(os.path.join(args.out, name))
    except ExportError as e:
        print(f"export FAILED: {e}", file=sys.stderr)
        return 1
    write_model_json(args.out, args.model_type, args.checkpoint)
    print("done")
    return 0
