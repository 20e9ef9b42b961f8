"""The official SAM 2 package (sam2 1.1.0 from PyPI) as a test oracle, on Debian's
PyTorch 1.13: imports it after giving torch the one function it lacks, and
builds official models with seeded random weights.

    official = official_sam2("sam2.1_hiera_t", seed=7)      # SAM2Base, eval, CPU
    predictor = official_predictor(official)                 # SAM2ImagePredictor

A missing or broken package raises (the oracle tests fail, they never skip):
scripts/bootstrap installs it (scripts/model/requirements-nodeps.txt).
"""
import math
import sys

import torch
import torch.nn.functional as F

CONFIGS = {
    "sam2.1_hiera_t": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1_hiera_s": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1_hiera_b+": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1_hiera_l": "configs/sam2.1/sam2.1_hiera_l.yaml",
}


def _scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """PyTorch 2's F.scaled_dot_product_attention, eval mode: softmax(Q K^T / sqrt(d) + mask) V."""
    assert not is_causal and dropout_p == 0.0, "the oracle runs in eval mode only"
    attn = (q @ k.transpose(-2, -1)) * (scale if scale is not None else 1.0 / math.sqrt(q.shape[-1]))
    if attn_mask is not None:
        attn = attn + attn_mask
    return torch.softmax(attn, dim=-1) @ v


def import_sam2():
    """The sam2 package's build_sam2 and SAM2ImagePredictor (torch shimmed first)."""
    if not hasattr(F, "scaled_dot_product_attention"):
        F.scaled_dot_product_attention = _scaled_dot_product_attention
    # sam2 needs the real torchvision (its transforms): drop stand-ins another test
    # may have put in sys.modules (modules without a file).
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        if getattr(sys.modules[name], "__file__", None) is None:
            del sys.modules[name]
    from sam2.build_sam import build_sam2
    from sam2.sam2_image_predictor import SAM2ImagePredictor
    return build_sam2, SAM2ImagePredictor


def perturb_constants(module: torch.nn.Module, seed: int) -> None:
    """All-equal float tensors (zero pos_embeds, LayerNorm 1/0, no_mem_embed...) get
    +0.2 N(0,1), so that a swapped or missing term changes the outputs (the rule of
    shared/sam-reference)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in module.state_dict().values():
            if t.is_floating_point() and t.numel() > 0 and bool((t == t.flatten()[0]).all()):
                t.add_(0.2 * torch.randn(t.shape, generator=g))


def official_sam2(model_type: str, seed: int, init_weights: bool = True):
    """The official SAM2Base of a sam2.1 config (dynamic multimask on, as build_sam2
    sets it for images), seeded random weights with perturbed constants."""
    build_sam2, _ = import_sam2()
    torch.manual_seed(seed)
    model = build_sam2(CONFIGS[model_type], ckpt_path=None, device="cpu")
    if init_weights:
        perturb_constants(model, seed + 1)
    return model.eval()


def official_predictor(model):
    _, SAM2ImagePredictor = import_sam2()
    return SAM2ImagePredictor(model)
