"""Decoder wrappers traced into ONNX (the official interface and our variants).

All take image_embeddings 1 x 256 x 64 x 64 and 1024-space prompts.
  DecoderFull  inputs image_embeddings, point_coords 1xNx2, point_labels 1xN, mask_input
               1x1x256x256, has_mask_input (1), orig_im_size (2: h, w) -> masks 1xKxHxW,
               iou_predictions 1xK, low_res_masks 1xKx256x256 (official SamOnnxModel).
  DecoderFast  same inputs (orig_im_size unused, kept for drop-in use) -> iou_predictions,
               low_res_masks: no full-resolution upsampling, which dominates the cost.
  DecoderBatch image_embeddings, point_coords Bx1x2, point_labels Bx1 -> iou_predictions Bx4,
               low_res_masks Bx4x256x256: one point per prompt plus the padding point, as
               the automatic mask generator feeds the predictor.
K = 4 (token 0 single-mask, 1-3 multimask) or 1 with return_single_mask.
"""
from typing import Tuple

import torch
from torch import nn
from torch.nn import functional as F

from .sam import Sam

DECODER_INPUTS = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"]
FULL_OUTPUTS = ["masks", "iou_predictions", "low_res_masks"]
FAST_OUTPUTS = ["iou_predictions", "low_res_masks"]
BATCH_INPUTS = ["image_embeddings", "point_coords", "point_labels"]


def resize_longest_image_size(input_image_size: torch.Tensor, longest_side: int) -> torch.Tensor:
    """(h, w) float -> (h', w') int64 with the longest side = longest_side (float32 floor(x+0.5))."""
    input_image_size = input_image_size.to(torch.float32)
    scale = longest_side / torch.max(input_image_size)
    return torch.floor(scale * input_image_size + 0.5).to(torch.int64)


class _DecoderBase(nn.Module):
    def __init__(self, sam: Sam, return_single_mask: bool = False) -> None:
        super().__init__()
        self.sam = sam
        self.img_size = sam.img_size
        self.return_single_mask = return_single_mask

    def _decode(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input):
        pe = self.sam.prompt_encoder
        sparse = pe.embed_points_labels(point_coords, point_labels)
        dense = pe.embed_mask_or_default(mask_input, has_mask_input)
        masks, scores = self.sam.mask_decoder.predict_masks(image_embeddings, pe.get_dense_pe(), sparse, dense)
        if self.return_single_mask:
            masks, scores = self._select_masks(masks, scores, point_coords.shape[1])
        return masks, scores

    def _select_masks(self, masks: torch.Tensor, iou: torch.Tensor, num_points) -> Tuple[torch.Tensor, torch.Tensor]:
        # With >= 3 prompt points (so a box, or several clicks) the prompt is
        # unambiguous and token 0 wins; otherwise the best multimask token.
        reweight = torch.tensor([[1000] + [0] * (self.sam.mask_decoder.num_mask_tokens - 1)]).to(iou.device)
        score = iou + (num_points - 2.5) * reweight
        best = torch.argmax(score, dim=1)
        rows = torch.arange(masks.shape[0])
        return masks[rows, best, :, :].unsqueeze(1), iou[rows, best].unsqueeze(1)


class DecoderFull(_DecoderBase):
    def mask_postprocessing(self, masks: torch.Tensor, orig_im_size: torch.Tensor) -> torch.Tensor:
        masks = F.interpolate(masks, size=(self.img_size, self.img_size), mode="bilinear", align_corners=False)
        prepadded = resize_longest_image_size(orig_im_size, self.img_size)
        # Slice with 0-d tensors, not int(): int() would freeze the traced size.
        masks = masks[..., : prepadded[0], : prepadded[1]]
        orig = orig_im_size.to(torch.int64)
        return F.interpolate(masks, size=(orig[0], orig[1]), mode="bilinear", align_corners=False)

    @torch.no_grad()
    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size):
        masks, scores = self._decode(image_embeddings, point_coords, point_labels, mask_input, has_mask_input)
        return self.mask_postprocessing(masks, orig_im_size), scores, masks


class DecoderFast(_DecoderBase):
    @torch.no_grad()
    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size):
        masks, scores = self._decode(image_embeddings, point_coords, point_labels, mask_input, has_mask_input)
        return scores, masks


class DecoderBatch(_DecoderBase):
    def __init__(self, sam: Sam) -> None:
        super().__init__(sam, return_single_mask=False)

    @torch.no_grad()
    def forward(self, image_embeddings, point_coords, point_labels):
        b = point_coords.shape[0]
        coords = torch.cat([point_coords, torch.zeros_like(point_coords[:, :1, :])], dim=1)
        labels = torch.cat([point_labels, -torch.ones_like(point_labels[:, :1])], dim=1)
        pe = self.sam.prompt_encoder
        md = self.sam.mask_decoder
        sparse = pe.embed_points_labels(coords, labels)
        dense = pe.no_mask_embed.weight.reshape(1, -1, 1, 1)
        # expand (not repeat_interleave) the one image embedding: it traces with a dynamic B.
        src = (image_embeddings + dense).expand(b, -1, -1, -1)
        pos = pe.get_dense_pe().expand(b, -1, -1, -1)
        output_tokens = torch.cat([md.iou_token.weight, md.mask_tokens.weight], dim=0)
        tokens = torch.cat((output_tokens.unsqueeze(0).expand(b, -1, -1), sparse), dim=1)
        masks, scores = md.predict_from_tokens(src, pos, tokens)
        return scores, masks
