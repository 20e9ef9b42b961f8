"""LightEncoder: the small convolutional image encoder of our bundled "light" model.

image B x 3 x S x S (normalised + padded as SAM's preprocess; S = 1024 in the
exported model, S = 256 in training) -> B x 256 x S/16 x S/16 embedding, the same
contract as SAM's ViT encoders (1 x 256 x 64 x 64 at 1024); see input_pool.
A stride-4 patchify stem, depthwise-separable inverted-residual blocks at strides
4/8/16/32, one global self-attention layer at stride 32 for context, and a
SAM-style neck (1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d) at stride 16.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

from .layers import LayerNorm2d


class InvertedResidual(nn.Module):
    """dw kxk -> BN -> pw expand -> GELU -> pw project -> BN, plus the input."""

    def __init__(self, dim: int, expand: int = 2, kernel: int = 3) -> None:
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim, bias=False)
        self.bn1 = nn.BatchNorm2d(dim)
        self.pw1 = nn.Conv2d(dim, dim * expand, 1)
        self.act = nn.GELU()
        self.pw2 = nn.Conv2d(dim * expand, dim, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(dim)
        # Residual branches start near zero so that a deep stack trains from the first step.
        nn.init.constant_(self.bn2.weight, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn2(self.pw2(self.act(self.pw1(self.bn1(self.dw(x))))))


class Downsample(nn.Module):
    """2x2 stride-2 conv: halves the resolution, widens the channels."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 2, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class GlobalAttention(nn.Module):
    """Pre-norm multi-head self-attention over all stride-32 cells, with a
    depthwise conv as position encoding (works for any grid size)."""

    def __init__(self, dim: int, heads: int = 8) -> None:
        super().__init__()
        self.pos = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.heads = heads
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos(x)
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(self.norm(t)).reshape(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = torch.softmax((q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads), dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, h * w, c)
        t = t + self.proj(out)
        return t.transpose(1, 2).reshape(b, c, h, w)


class LightEncoder(nn.Module):
    img_size = 1024  # the exported input size; the module itself accepts any multiple of 32
    # input_pool: average-pool the 1024 input by this factor first and upsample the embedding
    # bilinearly by it at the end, so the network sees the pixel scale it was trained at
    # (the bundled model was trained at 256 px -> 4; train.py sets 1 and feeds the training
    # size directly). A setting, not a weight: the state dict is the same for every value.
    input_pool = 4

    @staticmethod
    def config_from_state_dict(sd, prefix: str = "image_encoder.") -> dict:
        """The dims / depths of the LightEncoder whose weights these are (they differ between
        our trained models; the rest of the architecture is fixed)."""
        dims, depths = [], []
        for i in range(4):
            blocks = sorted(int(k[len(prefix):].split(".")[2]) for k in sd
                            if k.startswith(f"{prefix}stages.{i}.") and k.endswith(".dw.weight"))
            if not blocks:
                raise KeyError(f"no {prefix}stages.{i}.*.dw.weight: not a light encoder state dict")
            dims.append(int(sd[f"{prefix}stages.{i}.{blocks[0]}.dw.weight"].shape[0]))
            depths.append(len(blocks))
        return {"dims": tuple(dims), "depths": tuple(depths)}

    def __init__(self, dims=(32, 64, 128, 256), depths=(1, 2, 3, 2), out_chans: int = 256) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4, bias=False), nn.BatchNorm2d(dims[0]), nn.GELU())
        stages = []
        for i, (d, n) in enumerate(zip(dims, depths)):
            layers = [] if i == 0 else [Downsample(dims[i - 1], d)]
            layers += [InvertedResidual(d, expand=2, kernel=3 if i < 2 else 5) for _ in range(n)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.context = GlobalAttention(dims[3])
        # SAM's neck, fed with stride-16 detail and upsampled stride-32 context.
        self.neck = nn.Sequential(
            nn.Conv2d(dims[2] + dims[3], out_chans, 1, bias=False),
            LayerNorm2d(out_chans),
            nn.Conv2d(out_chans, out_chans, 3, padding=1, bias=False),
            LayerNorm2d(out_chans),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_pool > 1:
            y = self.features(F.avg_pool2d(x, self.input_pool))
            return F.interpolate(y, scale_factor=float(self.input_pool), mode="bilinear", align_corners=False)
        return self.features(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.stages[0](x)
        x = self.stages[1](x)
        s16 = self.stages[2](x)
        s32 = self.context(self.stages[3](s16))
        up = F.interpolate(s32, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.neck(torch.cat([s16, up], dim=1))
