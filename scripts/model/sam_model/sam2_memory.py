"""SAM 2's video-memory modules, as weight holders only.

Official SAM 2.1 checkpoints hold the whole video model: memory attention,
memory encoder, object-pointer projections and a few embeddings. Images need
none of them (the image predictor adds `no_mem_embed` and stops there), but
the checkpoint loader is strict: these modules declare the same parameter
names and shapes as the official ones (sam2.modeling.memory_attention,
memory_encoder, sam2_base), so a file with a missing, extra or wrongly shaped
key is refused. They have no forward(): calling one is a programmer error.
The top-level video tensors (maskmem_tpos_enc, no_obj_ptr, obj_ptr_proj, ...)
are declared by the Sam2 container (sam2.py), where their keys live.

    memory_attention, memory_encoder = MemoryAttention(), MemoryEncoder()
"""
import torch
from torch import nn

from .layers import LayerNorm2d


class _WeightsOnly(nn.Module):
    def forward(self, *args, **kwargs):  # pragma: no cover - never called
        raise RuntimeError(f"{type(self).__name__} holds checkpoint weights only (SAM 2 video memory)")


class _Attention(_WeightsOnly):
    """sam2.modeling.sam.transformer.RoPEAttention's weights (RoPE has none)."""

    def __init__(self, dim: int, kv_in_dim: int) -> None:
        super().__init__()
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(kv_in_dim, dim)
        self.v_proj = nn.Linear(kv_in_dim, dim)
        self.out_proj = nn.Linear(dim, dim)


class _MemoryAttentionLayer(_WeightsOnly):
    def __init__(self, d_model: int, mem_dim: int, dim_feedforward: int) -> None:
        super().__init__()
        self.self_attn = _Attention(d_model, d_model)
        self.cross_attn_image = _Attention(d_model, mem_dim)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)


class MemoryAttention(_WeightsOnly):
    def __init__(self, d_model: int = 256, mem_dim: int = 64, num_layers: int = 4, dim_feedforward: int = 2048) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_MemoryAttentionLayer(d_model, mem_dim, dim_feedforward) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)


class _MaskDownSampler(_WeightsOnly):
    """Stride-2 3 x 3 convolutions from 1 to 256 channels (LayerNorm2d + GELU after
    each), then a 1 x 1 convolution: the official Sequential's indices."""

    def __init__(self, embed_dim: int = 256, total_stride: int = 16) -> None:
        super().__init__()
        layers = []
        chans = 1
        for _ in range(total_stride.bit_length() - 1):
            out = chans * 4
            layers += [nn.Conv2d(chans, out, kernel_size=3, stride=2, padding=1), LayerNorm2d(out), nn.GELU()]
            chans = out
        layers.append(nn.Conv2d(chans, embed_dim, kernel_size=1))
        self.encoder = nn.Sequential(*layers)


class _CXBlock(_WeightsOnly):
    def __init__(self, dim: int = 256, kernel_size: int = 7) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = LayerNorm2d(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))


class _Fuser(_WeightsOnly):
    def __init__(self, dim: int = 256, num_layers: int = 2) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_CXBlock(dim) for _ in range(num_layers))


class MemoryEncoder(_WeightsOnly):
    def __init__(self, in_dim: int = 256, out_dim: int = 64) -> None:
        super().__init__()
        self.mask_downsampler = _MaskDownSampler(in_dim)
        self.pix_feat_proj = nn.Conv2d(in_dim, in_dim, kernel_size=1)
        self.fuser = _Fuser(in_dim)
        self.out_proj = nn.Conv2d(in_dim, out_dim, kernel_size=1)
