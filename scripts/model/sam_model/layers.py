"""Small building blocks shared by the SAM encoders and decoder.

LayerNorm2d normalises a B x C x H x W tensor over C (SAM's eps is 1e-6, not
nn.LayerNorm's 1e-5); MLPBlock is the two-layer MLP of the ViT blocks and of
SAM 1's TwoWayTransformer; MLP is the decoder's hypernetwork / IoU head (and,
named `layers.N` like it, SAM 2's transformer and Hiera MLPs); ConvTranspose2x2 is
the decoder's 2x upscaling (an nn.ConvTranspose2d, faster to train).
"""
from typing import Callable, Type

import torch
from torch import nn
from torch.nn import functional as F


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of B x C x H x W tensors."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Written out (not F.layer_norm on a permuted tensor) so that the ONNX
        # graph and the float rounding are those of the official model.
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class MLPBlock(nn.Module):
    """lin1 -> activation -> lin2, on the last axis."""

    def __init__(self, embedding_dim: int, mlp_dim: int, act: Type[nn.Module] = nn.GELU) -> None:
        super().__init__()
        self.lin1 = nn.Linear(embedding_dim, mlp_dim)
        self.lin2 = nn.Linear(mlp_dim, embedding_dim)
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(self.act(self.lin1(x)))


class MLP(nn.Module):
    """num_layers Linear layers with ReLU (or `activation`, a function: SAM 2's
    Hiera blocks use F.gelu) between them, none after the last."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int,
                 activation: Callable[[torch.Tensor], torch.Tensor] = F.relu) -> None:
        super().__init__()
        dims_in = [input_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(n, k) for n, k in zip(dims_in, dims_out))
        # A function, not a module: no extra scope in the ONNX node names.
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = self.activation(x)
        return x


class _ContiguousGrad(torch.autograd.Function):
    """The identity, whose backward hands on a contiguous copy of the incoming gradient."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous()


class ConvTranspose2x2(nn.ConvTranspose2d):
    """nn.ConvTranspose2d(cin, cout, kernel_size=2, stride=2): the same weights, state dict,
    eval-mode output and ONNX export. In training mode it runs as one matrix product
    (each input cell writes its own 2 x 2 output block): PyTorch's CPU transposed
    convolution takes a slow generic path, several times slower forward and backward.
    The product's input gradient comes out permuted (not contiguous); it is made contiguous
    before it reaches the layer in front (the decoder's GELU), because the oneDNN GELU
    backward of CPU PyTorch < 2.1 returns wrong, at times infinite, gradients for a gradient
    whose strides differ from its input's (pytorch/pytorch#107876): fine-tuning diverged."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        b, c, h, w = x.shape
        o = self.out_channels
        x = _ContiguousGrad.apply(x)
        y = x.permute(0, 2, 3, 1).reshape(-1, c) @ self.weight.reshape(c, o * 4)  # weight: c x o x 2 x 2
        y = y.view(b, h, w, o, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, o, 2 * h, 2 * w)
        return y + self.bias.view(1, o, 1, 1)
