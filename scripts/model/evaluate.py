"""Evaluate an exported SAM-compatible model (encoder.onnx + decoder.onnx) on held-out synthetic scenes.

    .venv/bin/python scripts/model/evaluate.py --model-dir assets/model --n-scenes 500

Each held-out scene (synth.heldout_scene, native size 400-1024 px) goes through the
embedder's preprocessing (Pillow bilinear resize of the longest side to 1024,
normalise, pad) and encoder.onnx; then for up to --objects masks per scene:
  1 click     at the mask's innermost pixel (max of the distance transform); the
              shown mask is the multimask output with the highest predicted IoU
  3 / 5 click after 2 / 4 corrective clicks, each at the innermost pixel of the larger
              error region (positive if missed, negative if spilled), previous low-res
              logits fed back as mask_input, token 0 output
  box         the mask's tight box (labels 2, 3), token 0 output
IoU is measured at the original resolution after SAM's postprocess (bilinear to
1024, crop, bilinear to H x W, threshold 0). Also: the share of 1-click prompts
where the best (oracle) of the 3 multimask outputs beats the single-mask output,
and, with --torch-weights, the agreement of the ONNX pair with PyTorch on the
first --torch-scenes scenes. The IoU head: iou_pred_corr is the Pearson correlation
between predicted and true IoU of the 3 multimask outputs of every 1-click prompt,
top_is_best the share of those prompts whose highest-predicted output is (one of) the
best of the three. --weights evaluates a PyTorch model.pt the same way without exporting
(for recipe experiments). Ends with one JSON line (miou_1click, miou_3click, miou_5click,
miou_box, iou_pred_corr, top_is_best, n_scenes, ...).
"""
import argparse
import json
import os
import sys
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synth import heldout_scene  # noqa: E402

MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


def preprocess(image: np.ndarray) -> Tuple[np.ndarray, Tuple[int, int]]:
    """H x W x 3 uint8 -> (1 x 3 x 1024 x 1024 float32, resized (h, w)), as the embedder does."""
    h, w = image.shape[:2]
    scale = 1024 / max(h, w)
    nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
    resized = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR), np.float32)
    x = np.zeros((1024, 1024, 3), np.float32)
    x[:nh, :nw] = (resized - MEAN) / STD
    return x.transpose(2, 0, 1)[None].copy(), (nh, nw)


def _bilinear(x: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """K x h x w -> K x H x W, half-pixel centres, no antialias (torch's bilinear, align_corners=False)."""
    import torch
    from torch.nn import functional as F
    return F.interpolate(torch.from_numpy(x)[None], size, mode="bilinear", align_corners=False)[0].numpy()


def postprocess(low_res: np.ndarray, resized: Tuple[int, int], orig: Tuple[int, int]) -> np.ndarray:
    """K x 256 x 256 logits -> K x H x W logits in the original image (SAM's postprocess_masks)."""
    up = _bilinear(low_res, (1024, 1024))[:, : resized[0], : resized[1]]
    return _bilinear(np.ascontiguousarray(up), orig)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def innermost(region: np.ndarray) -> Tuple[Tuple[float, float], float]:
    """(x, y) pixel centre farthest from the region's border, and that distance."""
    ys, xs = np.nonzero(region.any(1))[0], np.nonzero(region.any(0))[0]
    y0, x0 = ys[0], xs[0]
    # The crop to the region's box (plus a border of background) gives the same distances, faster.
    crop = np.pad(region[y0:ys[-1] + 1, x0:xs[-1] + 1], 1)
    dt = ndimage.distance_transform_edt(crop)
    y, x = np.unravel_index(int(np.argmax(dt)), dt.shape)
    return (float(x - 1 + x0), float(y - 1 + y0)), float(dt[y, x])


class Model:
    def __init__(self, model_dir: str, threads: int = 1) -> None:
        import onnxruntime as ort  # here, so that training on a machine without it can import this module
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.model_dir = model_dir
        self.encoder = ort.InferenceSession(os.path.join(model_dir, "encoder.onnx"), so, providers=["CPUExecutionProvider"])
        self.decoder = ort.InferenceSession(os.path.join(model_dir, "decoder.onnx"), so, providers=["CPUExecutionProvider"])

    def embed(self, x: np.ndarray) -> np.ndarray:
        return self.encoder.run(["image_embeddings"], {"image": x})[0]

    def decode(self, emb, coords, labels, mask_input=None) -> Tuple[np.ndarray, np.ndarray]:
        """coords N x 2 (1024-space), labels N -> (iou 4, low-res logits 4 x 256 x 256)."""
        feeds = {
            "image_embeddings": emb,
            "point_coords": np.asarray(coords, np.float32)[None],
            "point_labels": np.asarray(labels, np.float32)[None],
            "mask_input": np.zeros((1, 1, 256, 256), np.float32) if mask_input is None else mask_input[None, None],
            "has_mask_input": np.array([0.0 if mask_input is None else 1.0], np.float32),
            "orig_im_size": np.array([1024.0, 1024.0], np.float32),
        }
        iou_pred, low = self.decoder.run(["iou_predictions", "low_res_masks"], feeds)
        return iou_pred[0], low[0]


class TorchModel:
    """The same calls through PyTorch: a model.pt of the light model (the ONNX agreement check,
    --weights), or a live Sam (train.py's held-out log; its encoder's input_pool as set)."""

    def __init__(self, weights: Optional[str] = None, sam=None, device="cpu") -> None:
        import torch
        from sam_model import build_sam
        from sam_model.onnx_decoder import DecoderFast
        self.torch = torch
        self.device = torch.device(device)
        if sam is None:
            sam = build_sam("light", checkpoint=weights).float().to(self.device)
        self.sam = sam.eval()
        self.fast = DecoderFast(self.sam).eval()

    def embed(self, x):
        with self.torch.no_grad():
            return self.sam.image_encoder(self.torch.from_numpy(x).to(self.device)).cpu().numpy()

    def decode(self, emb, coords, labels, mask_input=None):
        t, d = self.torch, self.device
        has = mask_input is not None
        m = t.from_numpy(mask_input[None, None]) if has else t.zeros(1, 1, 256, 256)
        iou_pred, low = self.fast(t.from_numpy(emb).to(d), t.tensor(np.asarray(coords, np.float32)[None], device=d),
                                  t.tensor(np.asarray(labels, np.float32)[None], device=d), m.to(d),
                                  t.tensor([1.0 if has else 0.0], device=d), t.tensor([1024.0, 1024.0], device=d))
        return iou_pred[0].cpu().numpy(), low[0].cpu().numpy()


def pick_targets(scene, n: int, index: int) -> List[int]:
    rng = np.random.default_rng(12345 + index)
    order = rng.permutation(len(scene.masks))
    return [int(i) for i in order[:n]]


def evaluate_scene(model, scene, index: int, n_objects: int, clicks: int = 5) -> Dict[str, List[float]]:
    x, resized = preprocess(scene.image)
    orig = scene.image.shape[:2]
    scale = 1024 / max(orig)
    emb = model.embed(x)
    out: Dict[str, List[float]] = {k: [] for k in ("click1", "click3", "click5", "box", "best3_beats_single",
                                                    "oracle1", "single1", "iou_pred", "iou_true", "top_is_best")}
    for t in pick_targets(scene, n_objects, index):
        gt = scene.masks[t]
        (px, py), _ = innermost(gt)
        coords, labels = [[px * scale, py * scale]], [1.0]
        iou_pred, low = model.decode(emb, coords + [[0.0, 0.0]], labels + [-1.0])
        masks = postprocess(low, resized, orig) > 0
        ious = [iou(m, gt) for m in masks]
        chosen = 1 + int(np.argmax(iou_pred[1:]))
        out["click1"].append(ious[chosen])
        out["oracle1"].append(max(ious[1:]))
        out["single1"].append(ious[0])
        out["best3_beats_single"].append(float(max(ious[1:]) > ious[0]))
        out["iou_pred"].extend(float(v) for v in iou_pred[1:])
        out["iou_true"].extend(ious[1:])
        out["top_is_best"].append(float(ious[chosen] >= max(ious[1:])))
        prev_low, pred = low[chosen], masks[chosen]
        for k in range(2, clicks + 1):
            fn, fp = gt & ~pred, pred & ~gt
            (fx, fy), dn = innermost(fn) if fn.any() else ((0.0, 0.0), -1.0)
            (bx, by), dp = innermost(fp) if fp.any() else ((0.0, 0.0), -1.0)
            if dn < 0 and dp < 0:  # already perfect: keep it
                pass
            elif dn >= dp:
                coords.append([fx * scale, fy * scale]); labels.append(1.0)
            else:
                coords.append([bx * scale, by * scale]); labels.append(0.0)
            _, low = model.decode(emb, coords + [[0.0, 0.0]], labels + [-1.0], prev_low)
            prev_low = low[0]
            pred = postprocess(low[:1], resized, orig)[0] > 0
            if k in (3, 5):
                out[f"click{k}"].append(iou(pred, gt))
        ys, xs = np.nonzero(gt)
        box = np.array([[xs.min(), ys.min()], [xs.max() + 1, ys.max() + 1]], np.float32) * scale
        _, low = model.decode(emb, box, [2.0, 3.0])
        out["box"].append(iou(postprocess(low[:1], resized, orig)[0] > 0, gt))
    return out


def agreement(onnx_model: Model, torch_model: TorchModel, scene) -> Dict[str, float]:
    """Max |diff| of embeddings and low-res logits, and the IoU of the thresholded masks."""
    x, _ = preprocess(scene.image)
    e1, e2 = onnx_model.embed(x), torch_model.embed(x)
    (px, py), _ = innermost(scene.masks[0])
    s = 1024 / max(scene.image.shape[:2])
    c = [[px * s, py * s], [0.0, 0.0]]
    _, l1 = onnx_model.decode(e1, c, [1.0, -1.0])
    _, l2 = torch_model.decode(e1, c, [1.0, -1.0])
    result = {"emb_max_abs_diff": float(np.abs(e1 - e2).max()), "logit_max_abs_diff": float(np.abs(l1 - l2).max()),
              "mask_iou_onnx_torch": min(iou(a > 0, b > 0) for a, b in zip(l1, l2))}
    node = run_onnx_node(onnx_model.model_dir, x, c, [1.0, -1.0])
    if node is not None:  # the same files through the embedder's and server's onnxruntime-node loaders
        e3, l3 = node
        _, l4 = torch_model.decode(e3, c, [1.0, -1.0])
        result.update({"node_emb_max_abs_diff": float(np.abs(e3 - e2).max()),
                       "node_logit_max_abs_diff": float(np.abs(l3 - l4).max()),
                       "mask_iou_node_torch": min(iou(a > 0, b > 0) for a, b in zip(l3, l4))})
    return result


def run_onnx_node(model_dir: str, x: np.ndarray, coords, labels) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(embedding, low-res logits) from onnxruntime-node, or None where node or the npm packages are missing."""
    import shutil
    import subprocess
    import tempfile
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    if not shutil.which("node") or not os.path.isdir(os.path.join(repo, "node_modules", "onnxruntime-node")):
        print("onnxruntime-node check skipped: node or node_modules/onnxruntime-node missing", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "input.npy"), x.astype(np.float32))
        r = subprocess.run(["node", os.path.join(repo, "scripts", "model", "run_onnx_node.mjs"), model_dir,
                            os.path.join(tmp, "input.npy"), json.dumps(coords), json.dumps(labels), tmp],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"run_onnx_node.mjs failed: {r.stderr.strip()}")
        return np.load(os.path.join(tmp, "image_embeddings.npy")), np.load(os.path.join(tmp, "low_res_masks.npy"))[0]


# Prompts on the demo's sample photos (x, y / x0, y0, x1, y1 in original pixels), for the model card.
PHOTO_CLICKS = {
    "astronaut.jpg": [(100, 350), (387, 422), (225, 112), (408, 140)],
    "chelsea.jpg": [(190, 197), (169, 115)],
    "coffee.jpg": [(287, 141), (104, 282), (365, 282)],
    "rocket.jpg": [(320, 253), (45, 211), (193, 70)],
}
PHOTO_BOXES = {
    "astronaut.jpg": [(275, 340, 510, 512), (150, 12, 305, 195), (365, 0, 470, 280)],
    "chelsea.jpg": [(130, 85, 215, 145), (222, 212, 298, 272)],
    "coffee.jpg": [(168, 12, 415, 305), (72, 72, 482, 388)],
    "rocket.jpg": [(292, 122, 348, 410), (552, 0, 640, 427)],
}
COLOURS = [(255, 64, 64), (64, 160, 255), (64, 220, 64), (255, 200, 0)]


def draw_examples(model, samples_dir: str, out_dir: str) -> List[str]:
    """Two pictures per sample photo: <name>.jpg with each click's shown mask (highest predicted
    IoU, the value written next to the dot) tinted, <name>_box.jpg with each box's mask (token 0)."""
    from PIL import ImageDraw
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name in PHOTO_CLICKS:
        image = np.asarray(Image.open(os.path.join(samples_dir, name)).convert("RGB"))
        x, resized = preprocess(image)
        emb = model.embed(x)
        scale = 1024 / max(image.shape[:2])
        for kind, prompts in (("", PHOTO_CLICKS[name]), ("_box", PHOTO_BOXES[name])):
            out = image.astype(np.float32)
            scores = []
            for prompt, colour in zip(prompts, COLOURS):
                if kind:
                    iou_pred, low = model.decode(emb, np.array(prompt, np.float32).reshape(2, 2) * scale, [2.0, 3.0])
                    best = 0
                else:
                    iou_pred, low = model.decode(emb, [[prompt[0] * scale, prompt[1] * scale], [0.0, 0.0]], [1.0, -1.0])
                    best = 1 + int(np.argmax(iou_pred[1:]))
                scores.append(float(iou_pred[best]))
                mask = postprocess(low[best:best + 1], resized, image.shape[:2])[0] > 0
                out[mask] = 0.45 * out[mask] + 0.55 * np.array(colour, np.float32)
            pic = Image.fromarray(out.clip(0, 255).astype(np.uint8))
            d = ImageDraw.Draw(pic)
            for prompt, colour, score in zip(prompts, COLOURS, scores):
                if kind:
                    d.rectangle(list(prompt), outline=colour, width=3)
                    d.text((prompt[0] + 4, prompt[1] + 3), f"{score:.2f}", fill=(255, 255, 255))
                else:
                    cx, cy = prompt
                    d.ellipse([cx - 6, cy - 6, cx + 6, cy + 6], fill=colour, outline=(255, 255, 255), width=2)
                    d.text((cx + 9, cy - 6), f"{score:.2f}", fill=(255, 255, 255))
            path = os.path.join(out_dir, os.path.splitext(name)[0] + kind + ".jpg")
            pic.save(path, quality=85)
            written.append(path)
    return written


def evaluate_indices(model, indices: List[int], objects: int, quiet: bool = True,
                     deadline: float = float("inf")) -> Dict[str, List[float]]:
    """evaluate_scene over heldout_scene(i) for i in indices; lists per figure, plus "scenes"."""
    acc: Dict[str, List[float]] = {"scenes": []}
    t0 = time.time()
    for n, i in enumerate(indices):
        if time.time() > deadline:
            break
        acc["scenes"].append(i)
        scene = heldout_scene(i)
        if not scene.masks:
            continue
        for k, v in evaluate_scene(model, scene, i, objects).items():
            acc.setdefault(k, []).extend(v)
        if not quiet and (n + 1) % 25 == 0:
            print(f"[{os.getpid()}] {n + 1} scenes, {time.time() - t0:.0f} s, 1-click {np.mean(acc['click1']):.3f}, "
                  f"5-click {np.mean(acc['click5']):.3f}, box {np.mean(acc['box']):.3f}", file=sys.stderr, flush=True)
    return acc


def _evaluate_worker(model_dir: str, threads: int, weights: Optional[str], indices: List[int], objects: int,
                     quiet: bool, deadline: float) -> Dict[str, List[float]]:
    model = TorchModel(weights) if weights else Model(model_dir, threads)
    return evaluate_indices(model, indices, objects, quiet, deadline)


def summarise(acc: Dict[str, List[float]]) -> Dict[str, float]:
    pred, true = np.array(acc["iou_pred"]), np.array(acc["iou_true"])
    corr = float(np.corrcoef(pred, true)[0, 1]) if len(pred) > 1 and pred.std() > 0 and true.std() > 0 else 0.0
    return {
        "miou_1click": round(float(np.mean(acc["click1"])), 4),
        "miou_3click": round(float(np.mean(acc["click3"])), 4),
        "miou_5click": round(float(np.mean(acc["click5"])), 4),
        "miou_box": round(float(np.mean(acc["box"])), 4),
        "miou_1click_oracle_best_of_3": round(float(np.mean(acc["oracle1"])), 4),
        "miou_1click_single_output": round(float(np.mean(acc["single1"])), 4),
        "share_best_of_3_beats_single": round(float(np.mean(acc["best3_beats_single"])), 4),
        "iou_pred_corr": round(corr, 4),
        "iou_pred_mean_abs_err": round(float(np.mean(np.abs(pred - true))), 4),
        "top_is_best": round(float(np.mean(acc["top_is_best"])), 4),
        "n_scenes": len(acc["scenes"]),
        "n_masks": len(acc["click1"]),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="evaluate.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "assets", "model"))
    ap.add_argument("--weights", help="evaluate this PyTorch model.pt (light model) instead of the ONNX files")
    ap.add_argument("--n-scenes", type=int, default=500)
    ap.add_argument("--first-scene", type=int, default=0)
    ap.add_argument("--objects", type=int, default=1, help="target masks per scene")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime / PyTorch threads per worker")
    ap.add_argument("--workers", type=int, default=1, help="processes, each on an interleaved share of the scenes")
    ap.add_argument("--torch-weights", help="model.pt of the same model: check ONNX vs PyTorch")
    ap.add_argument("--torch-scenes", type=int, default=3)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--max-seconds", type=float, help="stop starting new scenes after this long (n_scenes says how many ran)")
    ap.add_argument("--pictures", metavar="DIR", help="only draw click and box masks on assets/samples photos into DIR")
    args = ap.parse_args(argv)
    if args.weights:
        import torch
        torch.set_num_threads(args.threads)
    model = TorchModel(args.weights) if args.weights else Model(args.model_dir, args.threads)
    if args.pictures:
        samples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "assets", "samples")
        for path in draw_examples(model, samples, args.pictures):
            print(path)
        return 0
    t0 = time.time()
    indices = list(range(args.first_scene, args.first_scene + args.n_scenes))
    deadline = t0 + args.max_seconds if args.max_seconds else float("inf")
    if args.workers == 1:
        parts = [evaluate_indices(model, indices, args.objects, args.quiet, deadline)]
    else:
        import multiprocessing
        jobs = [(args.model_dir, args.threads, args.weights, indices[w::args.workers], args.objects, args.quiet, deadline)
                for w in range(args.workers)]
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            parts = pool.starmap(_evaluate_worker, jobs)
    acc: Dict[str, List[float]] = {}
    for part in parts:
        for k, v in part.items():
            acc.setdefault(k, []).extend(v)
    result = summarise(acc)
    result["seconds"] = round(time.time() - t0, 1)
    if args.torch_weights:
        agree = [agreement(model, TorchModel(args.torch_weights), heldout_scene(i))
                 for i in range(args.first_scene, args.first_scene + args.torch_scenes)]
        result["onnx_vs_torch"] = {k: (min if "iou" in k else max)(a[k] for a in agree) for k in agree[0]}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
