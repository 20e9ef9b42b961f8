"""Writes the seeds of tests/fuzz/fuzz_decoder_weights.cpp into corpus/fuzz_decoder_weights/.

    .venv/bin/python tests/fuzz/make_decoder_weights_seeds.py

Each seed is one mode byte (bit 0: the fuzzer fixes the size field and CRC; bit 1: predict
with a mask input) and a .samw file written by scripts/model/sam_model/decoder_weights.py
for a micro decoder (embed_dim 8, a 2 x 2 embedding grid, 2 heads; seeded random weights),
SAM's (version 1) and SAM 2.1's (version 2, micro_sam2_*).
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "model"))

from sam_model.decoder_weights import sam_from_config, write_decoder_weights  # noqa: E402

MICRO = dict(embed_dim=8, image_embedding_h=2, image_embedding_w=2, input_image_size=32, mask_in_chans=4,
             num_multimask_outputs=3, depth=2, num_heads=2, mlp_dim=4, mlp_activation=0, self_attention_dim=4,
             cross_attention_dim=4, iou_head_depth=3, iou_head_hidden_dim=4, hypernet_hidden_dim=4, hypernet_depth=3)


def micro_sam2_state(config):
    """A SAM 2.1 prompt encoder + mask decoder of these dimensions (state-dict names as SAM2Base)."""
    from sam_model.mask_decoder import TwoWayTransformer
    from sam_model.prompt_encoder import PromptEncoder
    from sam_model.sam2_mask_decoder import Sam2MaskDecoder

    c, d = config, config["embed_dim"]
    pe = PromptEncoder(embed_dim=d, image_embedding_size=(c["image_embedding_h"], c["image_embedding_w"]),
                       input_image_size=(c["input_image_size"], c["input_image_size"]), mask_in_chans=c["mask_in_chans"])
    tf = TwoWayTransformer(depth=c["depth"], embedding_dim=d, num_heads=c["num_heads"], mlp_dim=c["mlp_dim"],
                           attention_downsample_rate=d // c["cross_attention_dim"],
                           self_attn_downsample_rate=d // c["self_attention_dim"], sam2_mlp=True)
    md = Sam2MaskDecoder(d, tf, iou_head_hidden_dim=c["iou_head_hidden_dim"], hypernet_hidden_dim=c["hypernet_hidden_dim"],
                         obj_score_hidden_dim=4)
    return torch.nn.ModuleDict({"sam_prompt_encoder": pe, "sam_mask_decoder": md}).state_dict()


def main():
    out = os.path.join(HERE, "corpus", "fuzz_decoder_weights")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    sam = sam_from_config(MICRO)
    tmp = os.path.join(out, "tmp.samw")
    seeds = {}
    for dtype in ("f32", "f16"):
        write_decoder_weights(tmp, sam.state_dict(), MICRO, dtype)
        with open(tmp, "rb") as f:
            seeds[dtype] = f.read()
    depth1 = dict(MICRO, depth=1, mlp_activation=1)
    write_decoder_weights(tmp, sam_from_config(depth1).state_dict(), depth1, "f32")
    with open(tmp, "rb") as f:
        seeds["depth1_gelu"] = f.read()
    torch.manual_seed(8)
    sam2_config = dict(MICRO, family=1)
    write_decoder_weights(tmp, micro_sam2_state(sam2_config), sam2_config, "f32")
    with open(tmp, "rb") as f:
        seeds["sam2"] = f.read()
    os.remove(tmp)
    files = {"micro_f32": b"\x00" + seeds["f32"], "micro_f16_mask": b"\x02" + seeds["f16"],
             "micro_f32_fixed": b"\x01" + seeds["f32"], "micro_depth1_gelu": b"\x03" + seeds["depth1_gelu"],
             "header_only_fixed": b"\x01" + seeds["f32"][:160], "micro_sam2_f32": b"\x00" + seeds["sam2"],
             "micro_sam2_mask_fixed": b"\x03" + seeds["sam2"]}
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
