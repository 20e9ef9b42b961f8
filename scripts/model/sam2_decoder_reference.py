"""Reference outputs of tests/fixtures/tiny_sam2/decoder.onnx in onnxruntime, for the
C++ SAM 2.1 decoder's parity test (tests/test_sam2_decoder.cpp); the build runs it
(CMakeLists.txt, target sam_reference_data):

    .venv/bin/python scripts/model/sam2_decoder_reference.py --fixture tests/fixtures/tiny_sam2 \
        --out build/native/reference/tiny_sam2_decoder

The features are the fixture encoder.onnx's outputs for a synthetic picture (a
gradient with a disc, a rectangle and seeded noise, SAM 2 preprocessing: 1024 x 1024,
ImageNet mean/std). Writes features.{image_embed,high_res_feats_0,high_res_feats_1}.npy
and, per prompt case, <case>.{point_coords,point_labels,mask_input,has_mask_input,
iou_predictions,low_res_masks}.npy (prompts in the 1024 frame, box corners first).
"""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort

CASES = {
    "point": ([[400.0, 350.0]], [1]),
    "negative_point": ([[400.0, 350.0], [800.0, 300.0]], [1, 0]),
    "box": ([[150.0, 100.0], [700.0, 600.0]], [2, 3]),
    "box_and_point": ([[150.0, 100.0], [700.0, 600.0], [800.0, 300.0]], [2, 3, 0]),
    "three_points": ([[400.0, 350.0], [770.0, 400.0], [50.0, 750.0]], [1, 1, 0]),
    # a second click with the first click's best mask fed back (refinement)
    "mask_input": ([[400.0, 350.0], [530.0, 530.0]], [1, 1]),
}


def picture(seed: int = 5) -> np.ndarray:
    """1 x 3 x 1024 x 1024, normalised as SAM2Transforms."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:1024, 0:1024] / 1024.0
    img = np.stack([0.15 + 0.6 * x, 0.25 + 0.5 * y, np.full_like(x, 0.35)], 0)
    disc = (x - 0.35) ** 2 + (y - 0.45) ** 2 < 0.2 ** 2
    rect = (x > 0.6) & (x < 0.85) & (y > 0.2) & (y < 0.7)
    img[:, disc] = np.array([0.9, 0.7, 0.15])[:, None]
    img[:, rect] = np.array([0.2, 0.8, 0.82])[:, None]
    img = np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1)
    mean = np.array([0.485, 0.456, 0.406])[:, None, None]
    std = np.array([0.229, 0.224, 0.225])[:, None, None]
    return ((img - mean) / std).astype(np.float32)[None]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    enc = ort.InferenceSession(os.path.join(args.fixture, "encoder.onnx"), so, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(os.path.join(args.fixture, "decoder.onnx"), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in enc.get_outputs()]
    feats = dict(zip(names, enc.run(None, {"image": picture()})))
    os.makedirs(args.out, exist_ok=True)
    for k, v in feats.items():
        np.save(os.path.join(args.out, f"features.{k}.npy"), v)
    best_first = None
    for case, (coords, labels) in CASES.items():
        if case == "mask_input":
            mask, has = best_first, 1.0
        else:
            mask, has = np.zeros((1, 1, 256, 256), np.float32), 0.0
        feeds = dict(feats)
        feeds.update(point_coords=np.asarray(coords, np.float32)[None],
                     point_labels=np.asarray(labels, np.float32)[None], mask_input=mask,
                     has_mask_input=np.array([has], np.float32))
        iou, low = dec.run(None, feeds)
        if case == "point":
            best_first = low[:, int(np.argmax(iou[0])):][:, :1].copy()
        for k in ("point_coords", "point_labels", "mask_input", "has_mask_input"):
            np.save(os.path.join(args.out, f"{case}.{k}.npy"), feeds[k])
        np.save(os.path.join(args.out, f"{case}.iou_predictions.npy"), iou)
        np.save(os.path.join(args.out, f"{case}.low_res_masks.npy"), low)
        print(f"{case}: iou {np.round(iou[0], 4).tolist()}, |logits| max {np.abs(low).max():.3f}")
    open(os.path.join(args.out, ".stamp"), "w").close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
