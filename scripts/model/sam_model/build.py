"""Builders for SAM ViT-B/L/H, MobileSAM (vit_t) and our tiny test model, and
official checkpoint loading.

    sam = build_sam("vit_b", checkpoint="sam_vit_b_01ec64.pth")   # strict load
    shapes = state_shapes("vit_h")                                # no weights allocated

Checkpoints are plain state dicts (torch.load, map_location='cpu'); a key or
shape mismatch raises CheckpointError listing the missing/unexpected keys.
"""
import contextlib
from collections import OrderedDict
from functools import partial
from typing import Dict, List, Optional

import torch
from torch import nn

from .mask_decoder import MaskDecoder, TwoWayTransformer
from .prompt_encoder import PromptEncoder
from .sam import Sam
from .light_encoder import LightEncoder
from .tiny_vit import TinyViT
from .vit_encoder import ImageEncoderViT

MODEL_TYPES = ("vit_b", "vit_l", "vit_h", "vit_t", "tiny-test", "light")

_VIT = {
    "vit_b": dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11)),
    "vit_l": dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23)),
    "vit_h": dict(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31)),
    # Tiny deterministic test model (tests/fixtures/tiny): same interfaces, few weights.
    "tiny-test": dict(embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,), neck_groups=16),
}
_TINY_DECODER = dict(depth=1, mlp_dim=64, attention_downsample_rate=8, self_attn_downsample_rate=8,
                     iou_head_hidden_dim=32, hypernet_hidden_dim=32)
# Our bundled trained model (train.py): SAM's decoder interface, slimmer inside so CPU training is fast.
_LIGHT_DECODER = dict(depth=2, mlp_dim=512, attention_downsample_rate=4, self_attn_downsample_rate=2,
                      iou_head_hidden_dim=128, hypernet_hidden_dim=64)
_DECODERS = {"tiny-test": _TINY_DECODER, "light": _LIGHT_DECODER}


class CheckpointError(RuntimeError):
    pass


@contextlib.contextmanager
def skip_weight_init():
    """Build modules without running their (slow) random initialisers.

    The tensors are left uninitialised; use only when every weight will be
    overwritten (checkpoint loading) or only names/shapes are needed.
    """
    names = ["uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
             "xavier_uniform_", "xavier_normal_", "constant_", "ones_", "zeros_"]
    saved = {n: getattr(nn.init, n) for n in names}
    try:
        for n in names:
            setattr(nn.init, n, lambda tensor, *a, **k: tensor)
        yield
    finally:
        for n, f in saved.items():
            setattr(nn.init, n, f)


def _build(model_type: str, encoder_config: Optional[dict] = None) -> Sam:
    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown model type {model_type!r}; expected one of {', '.join(MODEL_TYPES)}")
    if model_type == "vit_t":
        encoder: nn.Module = TinyViT()
    elif model_type == "light":
        encoder = LightEncoder(**(encoder_config or {}))
    else:
        encoder = ImageEncoderViT(img_size=1024, patch_size=16, mlp_ratio=4, out_chans=256, qkv_bias=True,
                                  norm_eps=1e-6, use_rel_pos=True, window_size=14, **_VIT[model_type])
    return Sam(encoder, *_build_decoder_parts(model_type))


def _build_decoder_parts(model_type: str):
    """(PromptEncoder, MaskDecoder): identical for every official model type."""
    dec = _DECODERS.get(model_type, {})
    prompt_encoder = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                                   mask_in_chans=16)
    transformer = TwoWayTransformer(depth=dec.get("depth", 2), embedding_dim=256, num_heads=8,
                                    mlp_dim=dec.get("mlp_dim", 2048),
                                    attention_downsample_rate=dec.get("attention_downsample_rate", 2),
                                    self_attn_downsample_rate=dec.get("self_attn_downsample_rate", 1))
    mask_decoder = MaskDecoder(transformer_dim=256, transformer=transformer, num_multimask_outputs=3,
                               iou_head_depth=3, iou_head_hidden_dim=dec.get("iou_head_hidden_dim", 256),
                               hypernet_hidden_dim=dec.get("hypernet_hidden_dim", 0))
    return prompt_encoder, mask_decoder


def build_sam(model_type: str, checkpoint: Optional[str] = None, init_weights: bool = True,
              encoder_config: Optional[dict] = None) -> Sam:
    """Sam in eval mode. With a checkpoint the random init is skipped (all weights
    are overwritten) and the file must match exactly (strict). For "light" the encoder's
    widths and depths come from the checkpoint (or encoder_config; default LightEncoder's)."""
    state = None
    if checkpoint is not None and model_type == "light":
        state = read_state_dict(checkpoint)
        try:
            encoder_config = LightEncoder.config_from_state_dict(state)
        except KeyError as e:
            raise CheckpointError(f"{checkpoint}: {e.args[0]}") from None
    if checkpoint is not None or not init_weights:
        with skip_weight_init():
            sam = _build(model_type, encoder_config)
    else:
        sam = _build(model_type, encoder_config)
    if state is not None:
        load_state_dict_strict(sam, state, source=checkpoint)
    elif checkpoint is not None:
        load_checkpoint(sam, checkpoint)
    return sam.eval()


def load_state_dict_strict(module: nn.Module, state_dict: Dict[str, torch.Tensor], source: str = "state dict") -> None:
    """load_state_dict(strict=True) with a readable report of every mismatch."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
             for k in own if k in state_dict and tuple(own[k].shape) != tuple(state_dict[k].shape)]
    if missing or unexpected or wrong:
        def show(title: str, items: List[str]) -> str:
            if not items:
                return ""
            more = f"\n    ... and {len(items) - 20} more" if len(items) > 20 else ""
            return f"\n  {title} ({len(items)}):\n    " + "\n    ".join(items[:20]) + more
        raise CheckpointError(f"{source} does not match the model" + show("missing keys", missing)
                              + show("unexpected keys", unexpected) + show("wrong shapes", wrong))
    module.load_state_dict(state_dict, strict=True)


def read_state_dict(path: str) -> "OrderedDict[str, torch.Tensor]":
    """Official SAM/MobileSAM files are plain state dicts; some wrappers nest one under 'model'."""
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a state dict, found {type(obj).__name__}")
    return obj


def load_checkpoint(sam: Sam, path: str) -> Sam:
    load_state_dict_strict(sam, read_state_dict(path), source=path)
    return sam


def load_decoder_checkpoint(sam: Sam, path: str) -> Sam:
    """Load the prompt_encoder.* and mask_decoder.* keys of a decoder-only or
    full state dict (image_encoder.* keys are ignored); strict otherwise."""
    sd = OrderedDict((k, v) for k, v in read_state_dict(path).items() if not k.startswith("image_encoder."))
    load_state_dict_strict(nn.ModuleDict({"prompt_encoder": sam.prompt_encoder, "mask_decoder": sam.mask_decoder}),
                           sd, source=path)
    return sam


def state_shapes(model_type: str) -> "OrderedDict[str, List[int]]":
    """state_dict key -> shape, in state_dict order, without allocating weights."""
    with skip_weight_init():
        sam = _build(model_type)
    return OrderedDict((k, list(v.shape)) for k, v in sam.state_dict().items())


def parameter_counts(model_type: str) -> Dict[str, int]:
    """Number of values per part (image_encoder, prompt_encoder, mask_decoder, total)
    of the state dict (so BatchNorm running stats count; they are weights too)."""
    counts: Dict[str, int] = {}
    for k, shape in state_shapes(model_type).items():
        n = 1
        for d in shape:
            n *= d
        part = k.split(".", 1)[0]
        counts[part] = counts.get(part, 0) + n
        counts["total"] = counts.get("total", 0) + n
    return counts


class EncoderPlaceholder(nn.Module):
    """Stands in for the image encoder when only the decoder is needed (no weights)."""

    def __init__(self, img_size: int = 1024) -> None:
        super().__init__()
        self.img_size = img_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("this model was built without an image encoder")


def build_sam_decoder_only(model_type: str = "vit_b", checkpoint: Optional[str] = None) -> Sam:
    """Sam with the prompt encoder + mask decoder of model_type and no image encoder;
    checkpoint is a decoder-only (prompt_encoder.*, mask_decoder.*) or full state dict."""
    ctx = skip_weight_init() if checkpoint is not None else contextlib.nullcontext()
    with ctx:
        parts = _build_decoder_parts(model_type)
    sam = Sam(EncoderPlaceholder(), *parts)
    if checkpoint is not None:
        load_decoder_checkpoint(sam, checkpoint)
    return sam.eval()
