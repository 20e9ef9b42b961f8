"""SAM 2's mask decoder: SAM 1's two-way transformer and hypernetwork heads, plus
the high-resolution skip features in the upscaling, an object-score token in
front of the IoU token, and sigmoid IoU predictions (SAM 2.1's configuration:
pred_obj_scores, pred_obj_scores_mlp, iou_prediction_use_sigmoid).

predict_masks(image_embed 1 x 256 x 64 x 64, high_res_feats_0 1 x 32 x 256 x 256,
high_res_feats_1 1 x 64 x 128 x 128, image_pe 1 x 256 x 64 x 64, sparse B x T x 256,
dense B x 256 x 64 x 64) returns raw low-res mask logits B x 4 x 256 x 256 and IoU
predictions B x 4 (token 0 the single-mask output, 1-3 the multimask outputs).
The object score (video tracking only) is not computed; its weights load.
conv_s0 / conv_s1 project the encoder's stride-4/8 maps to 32/64 channels: they
run once per image in the encoder export, as SAM2Base.forward_image does.
"""
from typing import List, Tuple

import torch
from torch import Tensor, nn

from .layers import MLP
from .mask_decoder import MaskDecoder


class Sam2MaskDecoder(MaskDecoder):
    def __init__(self, transformer_dim: int, transformer: nn.Module, iou_head_hidden_dim: int = 256,
                 hypernet_hidden_dim: int = 0, obj_score_hidden_dim: int = 0) -> None:
        super().__init__(transformer_dim, transformer, num_multimask_outputs=3, iou_head_depth=3,
                         iou_head_hidden_dim=iou_head_hidden_dim, hypernet_hidden_dim=hypernet_hidden_dim)
        self.obj_score_token = nn.Embedding(1, transformer_dim)
        self.conv_s0 = nn.Conv2d(transformer_dim, transformer_dim // 8, kernel_size=1, stride=1)
        self.conv_s1 = nn.Conv2d(transformer_dim, transformer_dim // 4, kernel_size=1, stride=1)
        self.pred_obj_score_head = MLP(transformer_dim, obj_score_hidden_dim or transformer_dim, 1, 3)

    def output_tokens(self) -> Tensor:
        """(2 + num_mask_tokens) x C: object score, IoU, mask tokens."""
        return torch.cat([self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight], dim=0)

    def predict_masks(self, image_embeddings: Tensor, high_res_feats_0: Tensor, high_res_feats_1: Tensor,
                      image_pe: Tensor, sparse_prompt_embeddings: Tensor,
                      dense_prompt_embeddings: Tensor) -> Tuple[Tensor, Tensor]:
        tokens = self.output_tokens().unsqueeze(0).expand(sparse_prompt_embeddings.size(0), -1, -1)
        tokens = torch.cat((tokens, sparse_prompt_embeddings), dim=1)
        assert image_embeddings.shape[0] == tokens.shape[0], "one prompt set per image embedding"
        src = image_embeddings + dense_prompt_embeddings
        pos_src = torch.repeat_interleave(image_pe, tokens.shape[0], dim=0)
        return self.predict_from_tokens_hr(src, pos_src, tokens, high_res_feats_0, high_res_feats_1)

    def predict_from_tokens_hr(self, src: Tensor, pos_src: Tensor, tokens: Tensor, high_res_feats_0: Tensor,
                               high_res_feats_1: Tensor) -> Tuple[Tensor, Tensor]:
        """src (image embedding + dense prompt) and pos_src B x C x h x w, tokens
        B x (6 + T) x C; the high-res maps are 1 x ... (broadcast over B) or B x ..."""
        b, c, h, w = src.shape
        hs, src = self.transformer(src, pos_src, tokens)
        iou_token_out = hs[:, 1, :]
        mask_tokens_out = hs[:, 2 : (2 + self.num_mask_tokens), :]

        src = src.transpose(1, 2).view(b, c, h, w)
        dc1, ln1, act1, dc2, act2 = self.output_upscaling
        upscaled = act1(ln1(dc1(src) + high_res_feats_1))
        upscaled = act2(dc2(upscaled) + high_res_feats_0)
        hyper_in_list: List[Tensor] = [
            self.output_hypernetworks_mlps[i](mask_tokens_out[:, i, :]) for i in range(self.num_mask_tokens)
        ]
        hyper_in = torch.stack(hyper_in_list, dim=1)
        b, c, h, w = upscaled.shape
        masks = (hyper_in @ upscaled.view(b, c, h * w)).view(b, -1, h, w)
        return masks, torch.sigmoid(self.iou_prediction_head(iou_token_out))
