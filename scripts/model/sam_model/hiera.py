"""SAM 2's image encoder: the Hiera trunk (hierarchical windowed attention with
query pooling between stages) and the FPN neck, with SAM 2's state-dict names
(`trunk.*`, `neck.convs.N.conv.*`) so official checkpoints load strictly.

    enc = Sam2ImageEncoder(HieraConfig(embed_dim=96, num_heads=1, stages=(1, 2, 7, 2), ...))
    feats = enc(x)   # x 1 x 3 x 1024 x 1024 (SAM 2 preprocessing) -> [1 x 256 x 256 x 256,
                     #   1 x 256 x 128 x 128, 1 x 256 x 64 x 64] (stride 4, 8, 16)

Internally tokens are B x H x W x C. The trunk has four stages of strides 4,
8, 16, 32; the neck projects each to 256 channels, adds the nearest-upsampled
coarser level to the two coarsest ones (fpn_top_down_levels [2, 3]) and drops
the stride-32 level (scalp 1). The neck's sine position encoding is left out:
the image predictor never uses it, and it has no weights.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .layers import MLP
from .vit_encoder import window_partition, window_unpartition  # SAM 1's windowing, the same as Hiera's


@dataclass(frozen=True)
class HieraConfig:
    embed_dim: int = 96
    num_heads: int = 1
    stages: Tuple[int, ...] = (2, 3, 16, 3)
    global_att_blocks: Tuple[int, ...] = (12, 16, 20)
    window_pos_embed_bkg_spatial_size: Tuple[int, int] = (14, 14)
    window_spec: Tuple[int, ...] = (8, 4, 14, 7)
    q_pool: int = 3
    q_stride: Tuple[int, int] = (2, 2)
    dim_mul: float = 2.0
    head_mul: float = 2.0
    mlp_ratio: float = 4.0
    d_model: int = 256            # the neck's output width
    fpn_top_down_levels: Tuple[int, ...] = (2, 3)
    scalp: int = 1

    @property
    def channel_list(self) -> List[int]:
        """Trunk output widths, coarsest first (the neck's backbone_channel_list)."""
        dims = [int(self.embed_dim * self.dim_mul ** i) for i in range(len(self.stages))]
        return dims[::-1]


def _pool(x: Tensor, pool: Optional[nn.Module]) -> Tensor:
    """MaxPool over H, W of a B x H x W x C tensor."""
    if pool is None:
        return x
    return pool(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class PatchEmbed(nn.Module):
    """7 x 7 convolution, stride 4: B x 3 x H x W -> B x H/4 x W/4 x C."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=7, stride=4, padding=3)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class MultiScaleAttention(nn.Module):
    """Attention over the tokens of each window; with q_pool the queries (and so
    the output) are max-pooled to half the resolution."""

    def __init__(self, dim: int, dim_out: int, num_heads: int, q_pool: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q_pool = q_pool
        self.qkv = nn.Linear(dim, dim_out * 3)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, _ = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1)
        q, k, v = torch.unbind(qkv, 2)  # each B x HW x heads x c
        if self.q_pool is not None:
            q = _pool(q.reshape(b, h, w, -1), self.q_pool)
            h, w = q.shape[1:3]
            q = q.reshape(b, h * w, self.num_heads, -1)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        # scaled_dot_product_attention's math (PyTorch 1.13 has no such function).
        attn = torch.softmax((q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1]), dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b, h, w, -1)
        return self.proj(x)


class MultiScaleBlock(nn.Module):
    def __init__(self, dim: int, dim_out: int, num_heads: int, mlp_ratio: float, q_stride: Optional[Tuple[int, int]],
                 window_size: int) -> None:
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.window_size = window_size
        self.q_stride = q_stride
        self.pool = nn.MaxPool2d(kernel_size=q_stride, stride=q_stride, ceil_mode=False) if q_stride else None
        self.attn = MultiScaleAttention(dim, dim_out, num_heads=num_heads, q_pool=self.pool)
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = MLP(dim_out, int(dim_out * mlp_ratio), dim_out, 2, activation=F.gelu)
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.norm1(x)
        if self.dim != self.dim_out:
            shortcut = _pool(self.proj(x), self.pool)

        window_size = self.window_size
        h, w = x.shape[1], x.shape[2]
        pad_hw = (h, w)
        if window_size > 0:
            x, pad_hw = window_partition(x, window_size)
        x = self.attn(x)
        if self.q_stride:
            # The queries were pooled: windows and the map are half the size now.
            window_size = self.window_size // self.q_stride[0]
            h, w = shortcut.shape[1:3]
            pad_h = (window_size - h % window_size) % window_size
            pad_w = (window_size - w % window_size) % window_size
            pad_hw = (h + pad_h, w + pad_w)
        if self.window_size > 0:
            x = window_unpartition(x, window_size, pad_hw, (h, w))
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


_BICUBIC_CACHE: Dict[Tuple[int, int], Tensor] = {}


def bicubic_matrix(n_in: int, n_out: int) -> Tensor:
    """n_out x n_in matrix M with M @ v = F.interpolate(v, n_out, mode="bicubic")
    along one axis (align_corners=False, borders clamped). The 2-D bicubic
    resize is separable, so the positional embedding's resize becomes two small
    matrix products: exportable to ONNX without relying on its cubic Resize."""
    key = (n_in, n_out)
    if key not in _BICUBIC_CACHE:
        basis = torch.eye(n_in, dtype=torch.float32).reshape(n_in, 1, n_in, 1)  # one-hot columns
        cols = F.interpolate(basis, size=(n_out, 1), mode="bicubic", align_corners=False)
        _BICUBIC_CACHE[key] = cols.reshape(n_in, n_out).t().contiguous()
    return _BICUBIC_CACHE[key]


class Hiera(nn.Module):
    def __init__(self, cfg: HieraConfig) -> None:
        super().__init__()
        assert len(cfg.stages) == len(cfg.window_spec)
        self.window_spec = cfg.window_spec
        depth = sum(cfg.stages)
        self.stage_ends = [sum(cfg.stages[:i]) - 1 for i in range(1, len(cfg.stages) + 1)]
        q_pool_blocks = [x + 1 for x in self.stage_ends[:-1]][: cfg.q_pool]
        embed_dim, num_heads = cfg.embed_dim, cfg.num_heads
        self.patch_embed = PatchEmbed(embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, embed_dim, *cfg.window_pos_embed_bkg_spatial_size))
        self.pos_embed_window = nn.Parameter(torch.zeros(1, embed_dim, cfg.window_spec[0], cfg.window_spec[0]))

        cur_stage = 1
        self.blocks = nn.ModuleList()
        for i in range(depth):
            dim_out = embed_dim
            # The window size lags by one block: a stage's first block still uses
            # the previous stage's window (it pools its queries down into this one).
            window_size = self.window_spec[cur_stage - 1]
            if i in cfg.global_att_blocks:
                window_size = 0
            if i - 1 in self.stage_ends:
                dim_out = int(embed_dim * cfg.dim_mul)
                num_heads = int(num_heads * cfg.head_mul)
                cur_stage += 1
            self.blocks.append(MultiScaleBlock(embed_dim, dim_out, num_heads, cfg.mlp_ratio,
                                               cfg.q_stride if i in q_pool_blocks else None, window_size))
            embed_dim = dim_out

    def _get_pos_embed(self, h: int, w: int) -> Tensor:
        mh = bicubic_matrix(self.pos_embed.shape[2], h).to(self.pos_embed.dtype)
        mw = bicubic_matrix(self.pos_embed.shape[3], w).to(self.pos_embed.dtype)
        # Rows (x) first, then columns (y): the order of torch's bicubic kernel.
        pos = mh @ (self.pos_embed @ mw.t())
        win = self.pos_embed_window
        # Tensor.repeat, not tile: PyTorch 1.13's ONNX exporter has no aten::tile.
        pos = pos + win.repeat(1, 1, h // win.shape[2], w // win.shape[3])
        return pos.permute(0, 2, 3, 1)

    def forward(self, x: Tensor) -> List[Tensor]:
        """B x 3 x H x W -> one B x C_i x H_i x W_i map per stage, finest first."""
        x = self.patch_embed(x)
        x = x + self._get_pos_embed(x.shape[1], x.shape[2])
        outputs = []
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if i in self.stage_ends:
                outputs.append(x.permute(0, 3, 1, 2))
        return outputs


class FpnNeck(nn.Module):
    def __init__(self, d_model: int, backbone_channel_list: Sequence[int], fpn_top_down_levels: Sequence[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        for dim in backbone_channel_list:
            conv = nn.Sequential()
            conv.add_module("conv", nn.Conv2d(dim, d_model, kernel_size=1))
            self.convs.append(conv)
        self.fpn_top_down_levels = list(fpn_top_down_levels)

    def forward(self, xs: List[Tensor]) -> List[Tensor]:
        n = len(self.convs) - 1
        out: List[Optional[Tensor]] = [None] * len(self.convs)
        prev = None
        for i in range(n, -1, -1):  # coarse to fine
            lateral = self.convs[n - i](xs[i])
            if i in self.fpn_top_down_levels and prev is not None:
                prev = lateral + F.interpolate(prev, scale_factor=2.0, mode="nearest")
            else:
                prev = lateral
            out[i] = prev
        return out  # type: ignore[return-value]


class Sam2ImageEncoder(nn.Module):
    """trunk + neck + scalp: the official ImageEncoder's `backbone_fpn` output."""

    def __init__(self, cfg: HieraConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.trunk = Hiera(cfg)
        self.neck = FpnNeck(cfg.d_model, cfg.channel_list, cfg.fpn_top_down_levels)
        self.scalp = cfg.scalp
        self.img_size = 1024

    def forward(self, x: Tensor) -> List[Tensor]:
        feats = self.neck(self.trunk(x))
        return feats[: len(feats) - self.scalp] if self.scalp > 0 else feats
