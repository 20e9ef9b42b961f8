"""Our PyTorch implementation of Segment Anything (ViT-B/L/H), MobileSAM (vit_t)
and a tiny test model, with official-checkpoint loading and ONNX export.

    from sam_model import build_sam
    sam = build_sam("vit_b", checkpoint="sam_vit_b_01ec64.pth")
"""
from .build import (MODEL_TYPES, CheckpointError, build_sam, build_sam_decoder_only, load_checkpoint, load_decoder_checkpoint,
                    load_state_dict_strict, parameter_counts, read_state_dict, state_shapes)
from .sam import Sam

__all__ = ["MODEL_TYPES", "CheckpointError", "Sam", "build_sam", "build_sam_decoder_only", "load_checkpoint", "load_decoder_checkpoint",
           "load_state_dict_strict", "parameter_counts", "read_state_dict", "state_shapes"]
