"""The Sam2 container: SAM 2.1 for images, with the official SAM2Base state-dict
layout (`image_encoder.trunk.*`, `image_encoder.neck.*`, `sam_prompt_encoder.*`,
`sam_mask_decoder.*`, `no_mem_embed`, and the video-memory weights).

    feats = sam2.forward_image(x)        # x 1 x 3 x 1024 x 1024 (SAM2Transforms output)
    image_embed, high_res_feats_0, high_res_feats_1 = feats
    masks, iou = sam2.predict_masks(*feats, point_coords, point_labels, mask_input, has_mask_input)

forward_image is SAM2ImagePredictor.set_image after the transforms: the FPN
levels of stride 4 and 8 go through the decoder's conv_s0 / conv_s1 (1 x 32 x
256 x 256, 1 x 64 x 128 x 128) and the stride-16 level gets no_mem_embed added
(1 x 256 x 64 x 64). Prompts are in the 1024 x 1024 input frame (x * 1024 / W,
y * 1024 / H); masks are the raw B x 4 x 256 x 256 logits (the predictor clamps
them to +-32 afterwards), iou B x 4 in [0, 1].
"""
from typing import Tuple

import torch
from torch import Tensor, nn

from .hiera import Sam2ImageEncoder
from .layers import MLP
from .prompt_encoder import PromptEncoder
from .sam2_mask_decoder import Sam2MaskDecoder
from .sam2_memory import MemoryAttention, MemoryEncoder

# SAM2Transforms: ImageNet statistics on [0, 1] pixel values.
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


class Sam2(nn.Module):
    mask_threshold: float = 0.0
    img_size: int = 1024

    def __init__(self, image_encoder: Sam2ImageEncoder, prompt_encoder: PromptEncoder, mask_decoder: Sam2MaskDecoder,
                 video_weights: bool = True, num_maskmem: int = 7, mem_dim: int = 64) -> None:
        """video_weights: declare the video-memory parameters of official
        checkpoints (unused for images; our tiny test model has none)."""
        super().__init__()
        hidden = prompt_encoder.embed_dim
        self.image_encoder = image_encoder
        self.sam_prompt_encoder = prompt_encoder
        self.sam_mask_decoder = mask_decoder
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, hidden))
        if video_weights:
            self.memory_attention = MemoryAttention(hidden, mem_dim)
            self.memory_encoder = MemoryEncoder(hidden, mem_dim)
            self.maskmem_tpos_enc = nn.Parameter(torch.zeros(num_maskmem, 1, 1, mem_dim))
            self.no_mem_pos_enc = nn.Parameter(torch.zeros(1, 1, hidden))
            self.no_obj_ptr = nn.Parameter(torch.zeros(1, hidden))
            self.no_obj_embed_spatial = nn.Parameter(torch.zeros(1, mem_dim))
            self.mask_downsample = nn.Conv2d(1, 1, kernel_size=4, stride=4)
            self.obj_ptr_proj = MLP(hidden, hidden, hidden, 3)
            self.obj_ptr_tpos_proj = nn.Linear(hidden, mem_dim)

    def forward_image(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """1 x 3 x 1024 x 1024 -> (image_embed, high_res_feats_0, high_res_feats_1)."""
        fpn = self.image_encoder(x)
        high_res_feats_0 = self.sam_mask_decoder.conv_s0(fpn[0])
        high_res_feats_1 = self.sam_mask_decoder.conv_s1(fpn[1])
        image_embed = fpn[2] + self.no_mem_embed.reshape(1, -1, 1, 1)
        return image_embed, high_res_feats_0, high_res_feats_1

    def predict_masks(self, image_embed: Tensor, high_res_feats_0: Tensor, high_res_feats_1: Tensor,
                      point_coords: Tensor, point_labels: Tensor, mask_input: Tensor,
                      has_mask_input: Tensor) -> Tuple[Tensor, Tensor]:
        """point_coords 1 x N x 2 (1024 frame; box corners as labels 2 and 3, first),
        point_labels 1 x N, mask_input 1 x 1 x 256 x 256 used when has_mask_input
        (shape (1,)) is 1. The padding point SAM 2's prompt encoder appends (it always
        pads: the predictor passes boxes as points) is appended here."""
        pe = self.sam_prompt_encoder
        coords = torch.cat([point_coords, torch.zeros_like(point_coords[:, :1, :])], dim=1)
        labels = torch.cat([point_labels, -torch.ones_like(point_labels[:, :1])], dim=1)
        sparse = pe.embed_points_labels(coords, labels)
        dense = pe.embed_mask_or_default(mask_input, has_mask_input)
        return self.sam_mask_decoder.predict_masks(image_embed, high_res_feats_0, high_res_feats_1, pe.get_dense_pe(),
                                                   sparse, dense)
