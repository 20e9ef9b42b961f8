"""Builders for SAM 2.1 (Hiera-T/S/B+/L) and our tiny SAM 2-shaped test model,
and official checkpoint loading.

    sam2 = build_sam2("sam2.1_hiera_t", checkpoint="sam2.1_hiera_tiny.pt")  # strict
    shapes = sam2_state_shapes("sam2.1_hiera_l")                             # no weights allocated

Official checkpoints are {"model": state_dict} of the whole video model
(SAM2Base); every key and shape must match, the video-memory ones included
(sam2_memory.py), or CheckpointError lists what differs. The configurations
are those of the official configs/sam2.1/sam2.1_hiera_*.yaml.
"""
import contextlib
from collections import OrderedDict
from typing import Dict, List, Optional

from .build import CheckpointError, load_state_dict_strict, read_state_dict, skip_weight_init
from .hiera import HieraConfig, Sam2ImageEncoder
from .mask_decoder import TwoWayTransformer
from .prompt_encoder import PromptEncoder
from .sam2 import Sam2
from .sam2_mask_decoder import Sam2MaskDecoder

_HIERA = {
    "sam2.1_hiera_t": HieraConfig(embed_dim=96, num_heads=1, stages=(1, 2, 7, 2), global_att_blocks=(5, 7, 9),
                                  window_pos_embed_bkg_spatial_size=(7, 7)),
    "sam2.1_hiera_s": HieraConfig(embed_dim=96, num_heads=1, stages=(1, 2, 11, 2), global_att_blocks=(7, 10, 13),
                                  window_pos_embed_bkg_spatial_size=(7, 7)),
    "sam2.1_hiera_b+": HieraConfig(embed_dim=112, num_heads=2),
    "sam2.1_hiera_l": HieraConfig(embed_dim=144, num_heads=2, stages=(2, 6, 36, 4), global_att_blocks=(23, 33, 43),
                                  window_pos_embed_bkg_spatial_size=(7, 7), window_spec=(8, 4, 16, 8)),
    # tests/fixtures/tiny_sam2: the real interface (1024 input, 256-wide neck, the
    # three feature maps), a few thousand encoder weights, one global-attention block.
    "sam2-tiny-test": HieraConfig(embed_dim=8, num_heads=1, stages=(1, 1, 2, 1), global_att_blocks=(3,),
                                  window_pos_embed_bkg_spatial_size=(7, 7)),
}
SAM2_MODEL_TYPES = tuple(_HIERA)
CHECKPOINT_FILES = {
    "sam2.1_hiera_t": "sam2.1_hiera_tiny.pt",
    "sam2.1_hiera_s": "sam2.1_hiera_small.pt",
    "sam2.1_hiera_b+": "sam2.1_hiera_base_plus.pt",
    "sam2.1_hiera_l": "sam2.1_hiera_large.pt",
}
_TINY_DECODER = dict(depth=1, mlp_dim=64, attention_downsample_rate=8, self_attn_downsample_rate=8,
                     iou_head_hidden_dim=32, hypernet_hidden_dim=32, obj_score_hidden_dim=32)


def is_sam2(model_type: str) -> bool:
    return model_type in _HIERA


def _build(model_type: str) -> Sam2:
    if model_type not in _HIERA:
        raise ValueError(f"unknown SAM 2 model type {model_type!r}; expected one of {', '.join(SAM2_MODEL_TYPES)}")
    dec = _TINY_DECODER if model_type == "sam2-tiny-test" else {}
    prompt_encoder = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                                   mask_in_chans=16)
    transformer = TwoWayTransformer(depth=dec.get("depth", 2), embedding_dim=256, num_heads=8,
                                    mlp_dim=dec.get("mlp_dim", 2048),
                                    attention_downsample_rate=dec.get("attention_downsample_rate", 2),
                                    self_attn_downsample_rate=dec.get("self_attn_downsample_rate", 1), sam2_mlp=True)
    mask_decoder = Sam2MaskDecoder(256, transformer, iou_head_hidden_dim=dec.get("iou_head_hidden_dim", 256),
                                   hypernet_hidden_dim=dec.get("hypernet_hidden_dim", 0),
                                   obj_score_hidden_dim=dec.get("obj_score_hidden_dim", 0))
    return Sam2(Sam2ImageEncoder(_HIERA[model_type]), prompt_encoder, mask_decoder,
                video_weights=model_type != "sam2-tiny-test")


def build_sam2(model_type: str, checkpoint: Optional[str] = None) -> Sam2:
    """Sam2 in eval mode; with a checkpoint (strict) the random init is skipped."""
    ctx = skip_weight_init() if checkpoint is not None else contextlib.nullcontext()
    with ctx:
        sam2 = _build(model_type)
    if checkpoint is not None:
        load_state_dict_strict(sam2, read_state_dict(checkpoint), source=checkpoint)
    return sam2.eval()


def sam2_state_shapes(model_type: str) -> "OrderedDict[str, List[int]]":
    with skip_weight_init():
        sam2 = _build(model_type)
    return OrderedDict((k, list(v.shape)) for k, v in sam2.state_dict().items())


def sam2_parameter_counts(model_type: str) -> Dict[str, int]:
    """Values per part: image_encoder, prompt_encoder, mask_decoder, video (the
    memory weights images do not use) and total."""
    names = {"image_encoder": "image_encoder", "sam_prompt_encoder": "prompt_encoder",
             "sam_mask_decoder": "mask_decoder", "no_mem_embed": "image_encoder"}
    counts: Dict[str, int] = {"image_encoder": 0, "prompt_encoder": 0, "mask_decoder": 0, "video": 0, "total": 0}
    for k, shape in sam2_state_shapes(model_type).items():
        n = 1
        for d in shape:
            n *= d
        counts[names.get(k.split(".", 1)[0], "video")] += n
        counts["total"] += n
    return counts


__all__ = ["SAM2_MODEL_TYPES", "CHECKPOINT_FILES", "CheckpointError", "build_sam2", "is_sam2", "sam2_parameter_counts",
           "sam2_state_shapes"]
