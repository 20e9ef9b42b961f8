"""Parameter counts of every model type, as the markdown tables in scripts/model/README.md.

    PYTHONPATH=scripts/model .venv/bin/python -m sam_model.model_info

Counted from the state-dict key/shape listings (no weights are allocated), so
BatchNorm running statistics count as values; float32 bytes = 4 x values.
SAM 2.1's checkpoints also hold video-memory weights that images never use
(`video`); its mask decoder column includes conv_s0/conv_s1, which run in the
exported encoder.
"""
import sys

from .build import MODEL_TYPES, parameter_counts
from .build_sam2 import CHECKPOINT_FILES, SAM2_MODEL_TYPES, sam2_parameter_counts

DESCRIPTION = {
    "vit_b": "SAM ViT-B (`sam_vit_b_01ec64.pth`)",
    "vit_l": "SAM ViT-L (`sam_vit_l_0b3195.pth`)",
    "vit_h": "SAM ViT-H (`sam_vit_h_4b8939.pth`)",
    "vit_t": "MobileSAM TinyViT (`mobile_sam.pt`)",
    "tiny-test": "tiny test model (`tests/fixtures/tiny`)",
    "light": "our bundled light model",
    "sam2-tiny-test": "tiny SAM 2.1-shaped test model (`tests/fixtures/tiny_sam2`)",
}


def table() -> str:
    rows = ["| model type | model | image encoder | prompt encoder | mask decoder | total | float32 MB |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for t in MODEL_TYPES:
        c = parameter_counts(t)
        rows.append(f"| `{t}` | {DESCRIPTION.get(t, t)} | {c['image_encoder']:,} | {c['prompt_encoder']:,} | "
                    f"{c['mask_decoder']:,} | {c['total']:,} | {4 * c['total'] / 1e6:.1f} |")
    return "\n".join(rows)


def sam2_table() -> str:
    rows = ["| model type | checkpoint | image encoder | prompt encoder | mask decoder | video (unused) | total | "
            "float32 MB |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for t in SAM2_MODEL_TYPES:
        c = sam2_parameter_counts(t)
        what = f"`{CHECKPOINT_FILES[t]}`" if t in CHECKPOINT_FILES else DESCRIPTION.get(t, t)
        rows.append(f"| `{t}` | {what} | {c['image_encoder']:,} | {c['prompt_encoder']:,} | {c['mask_decoder']:,} | "
                    f"{c['video']:,} | {c['total']:,} | {4 * c['total'] / 1e6:.1f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
    print()
    print(sam2_table())
    sys.exit(0)
