"""Parameter counts of every model type, as the markdown table in scripts/model/README.md.

    PYTHONPATH=scripts/model .venv/bin/python -m sam_model.model_info

Counted from the state-dict key/shape listings (no weights are allocated), so
BatchNorm running statistics count as values; float32 bytes = 4 x values.
"""
import sys

from .build import MODEL_TYPES, parameter_counts

DESCRIPTION = {
    "vit_b": "SAM ViT-B (`sam_vit_b_01ec64.pth`)",
    "vit_l": "SAM ViT-L (`sam_vit_l_0b3195.pth`)",
    "vit_h": "SAM ViT-H (`sam_vit_h_4b8939.pth`)",
    "vit_t": "MobileSAM TinyViT (`mobile_sam.pt`)",
    "tiny-test": "tiny test model (`tests/fixtures/tiny`)",
    "light": "our bundled light model",
}


def table() -> str:
    rows = ["| model type | model | image encoder | prompt encoder | mask decoder | total | float32 MB |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for t in MODEL_TYPES:
        c = parameter_counts(t)
        rows.append(f"| `{t}` | {DESCRIPTION.get(t, t)} | {c['image_encoder']:,} | {c['prompt_encoder']:,} | "
                    f"{c['mask_decoder']:,} | {c['total']:,} | {4 * c['total'] / 1e6:.1f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
    sys.exit(0)
