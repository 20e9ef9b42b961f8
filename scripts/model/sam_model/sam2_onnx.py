"""SAM 2.1's ONNX interface (tensor names as common SAM 2 exporters spell them) and
the wrappers traced into it.

  encoder.onnx        image f32[1,3,1024,1024] (SAM2Transforms output) ->
                      image_embed [1,256,64,64], high_res_feats_0 [1,32,256,256],
                      high_res_feats_1 [1,64,128,128] (conv_s0/conv_s1 and no_mem_embed applied)
  decoder.onnx        the three features, point_coords [1,N,2] (1024 frame: x*1024/W,
                      y*1024/H; box corners first, labels 2 and 3), point_labels [1,N],
                      mask_input [1,1,256,256], has_mask_input [1] ->
                      iou_predictions [1,4], low_res_masks [1,4,256,256] (clamped to +-32)
  decoder_batch.onnx  the three features, point_coords [B,1,2], point_labels [B,1] ->
                      iou_predictions [B,4], low_res_masks [B,4,256,256] (one point per
                      prompt, as a segment-everything grid feeds the decoder)
Mask 0 is the single-mask output, 1-3 the multimask outputs; SAM 2's dynamic
single-mask choice (stability of mask 0) is left to the caller (src/core/sam2_transforms.h).
The padding point SAM 2's prompt encoder appends is added inside the graphs.
"""
from typing import Tuple

import torch
from torch import Tensor, nn

from .sam2 import Sam2

ENCODER_INPUT = "image"
FEATURES = ["image_embed", "high_res_feats_0", "high_res_feats_1"]
FEATURE_SHAPES = {"image_embed": [1, 256, 64, 64], "high_res_feats_0": [1, 32, 256, 256],
                  "high_res_feats_1": [1, 64, 128, 128]}
DECODER_INPUTS = FEATURES + ["point_coords", "point_labels", "mask_input", "has_mask_input"]
BATCH_INPUTS = FEATURES + ["point_coords", "point_labels"]
DECODER_OUTPUTS = ["iou_predictions", "low_res_masks"]
# SAM2ImagePredictor._predict clamps the low-res logits it returns (and feeds back).
LOGIT_CLAMP = 32.0


class Sam2EncoderOnnx(nn.Module):
    def __init__(self, sam2: Sam2) -> None:
        super().__init__()
        self.sam2 = sam2

    @torch.no_grad()
    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        return self.sam2.forward_image(image)


class Sam2DecoderOnnx(nn.Module):
    def __init__(self, sam2: Sam2) -> None:
        super().__init__()
        self.sam2 = sam2

    @torch.no_grad()
    def forward(self, image_embed, high_res_feats_0, high_res_feats_1, point_coords, point_labels, mask_input,
                has_mask_input):
        masks, iou = self.sam2.predict_masks(image_embed, high_res_feats_0, high_res_feats_1, point_coords,
                                             point_labels, mask_input, has_mask_input)
        return iou, torch.clamp(masks, -LOGIT_CLAMP, LOGIT_CLAMP)


class Sam2DecoderBatchOnnx(nn.Module):
    def __init__(self, sam2: Sam2) -> None:
        super().__init__()
        self.sam2 = sam2

    @torch.no_grad()
    def forward(self, image_embed, high_res_feats_0, high_res_feats_1, point_coords, point_labels):
        b = point_coords.shape[0]
        pe = self.sam2.sam_prompt_encoder
        md = self.sam2.sam_mask_decoder
        coords = torch.cat([point_coords, torch.zeros_like(point_coords[:, :1, :])], dim=1)
        labels = torch.cat([point_labels, -torch.ones_like(point_labels[:, :1])], dim=1)
        sparse = pe.embed_points_labels(coords, labels)
        dense = pe.no_mask_embed.weight.reshape(1, -1, 1, 1)
        # expand (not repeat_interleave) the one image: it traces with a dynamic B; the
        # high-res maps broadcast over B inside the upscaling, as in the official decoder.
        src = (image_embed + dense).expand(b, -1, -1, -1)
        pos = pe.get_dense_pe().expand(b, -1, -1, -1)
        tokens = torch.cat((md.output_tokens().unsqueeze(0).expand(b, -1, -1), sparse), dim=1)
        masks, iou = md.predict_from_tokens_hr(src, pos, tokens, high_res_feats_0, high_res_feats_1)
        return iou, torch.clamp(masks, -LOGIT_CLAMP, LOGIT_CLAMP)
