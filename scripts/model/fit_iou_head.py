"""Fit the IoU prediction head of a light model on the exported decoder path, cheaply.

    .venv/bin/python scripts/model/fit_iou_head.py --init build/train/run/model.pt --out build/train/iou \\
        --minutes 20

The IoU head (mask_decoder.iou_prediction_head, a 3-layer MLP on the IoU token) is the last
step of the decoder and nothing else depends on it: with the rest of the model frozen, the
masks, and so the corrective clicks a prompt sequence gets, are the same whatever the head
says. So instead of training it through the whole decoder step after step (train.py --only
mask_decoder.iou_prediction_head --decoder-grid 64: one decoder forward per handful of
gradient steps), this script

1. collects, for --minutes, pairs (IoU token after the two-way transformer, true IoU of the 4
   output masks) from prompt sequences on fresh synthetic scenes, prepared as photos are
   (native 400-1024 px, the embedder's resize to 1024, the encoder's average pooling, the
   64 x 64 embedding of the exported files), prompted as train.py prompts (one click near
   the mask's middle or anywhere in it, or a jittered box, then 0..--max-extra corrective
   clicks, previous logits fed back), both after the first prompt and after the last
   corrective click;
2. fits the head on them (MSE against every output's true IoU, as SAM trains it; AdamW,
   full passes over the collected set), and keeps the epoch at which the held-out share of
   the collected prompts (every --holdout-th scene) shows the best mask, i.e. the mean true
   IoU of the multimask output with the highest predicted IoU after a single click (what
   evaluate.py's "1 click" figure and the app's candidate choice depend on);
3. writes --out/model.pt (the input weights with the new head) and --out/fit_log.json.

Runs on the CPU (--workers collecting processes, one thread each). The true IoU is measured
on the 256 x 256 low-res grid of the 1024-space, as train.py measures it.
"""
import argparse
import json
import os
import sys
import time
from typing import Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_tuning  # noqa: E402
if __name__ == "__main__":  # before NumPy / PyTorch load OpenBLAS
    cpu_tuning.configure(cpu_tuning.threads_from_argv())

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from evaluate import preprocess  # noqa: E402
from sam_model import build_sam  # noqa: E402
from synth import make_scene, random_size  # noqa: E402
from train import masks_to_grid, prompt_loss  # noqa: E402

FIT_SEED = 91_000_000  # scenes of this script: neither train.py's nor the held-out ones (7,000,000 + i)


@torch.no_grad()
def collect(sam, minutes: float, targets: int, max_extra: int, opts: Dict[str, float], seed: int,
            variety: float, max_scenes: int = 0) -> Dict[str, torch.Tensor]:
    """Pairs (IoU token, true IoU) for `minutes` of wall clock (or max_scenes scenes).
    Returns feats N x C, true N x 4, single N (a single click, first prompt: the multimask
    choice), scene N (the scene index, for the held-out split)."""
    captured: List[torch.Tensor] = []
    hook = sam.mask_decoder.iou_prediction_head.register_forward_pre_hook(
        lambda _m, inputs: captured.append(inputs[0].detach().float().cpu()))
    feats, true, single, scene_of = [], [], [], []
    pe = None
    gen = torch.Generator().manual_seed(seed)
    t0, i = time.time(), 0
    try:
        while (time.time() - t0 < minutes * 60 or minutes <= 0) and (not max_scenes or i < max_scenes):
            rng = np.random.default_rng([FIT_SEED, seed, i])
            longest = int(rng.integers(400, 1025))
            scene = make_scene(rng, random_size(rng, longest), variety=bool(rng.random() < variety))
            if not scene.masks:
                i += 1
                continue
            pick = rng.choice(len(scene.masks), size=targets, replace=len(scene.masks) < targets)
            gt = masks_to_grid([scene.masks[j] for j in pick], longest).float()
            x, _ = preprocess(scene.image)
            emb = sam.image_encoder(torch.from_numpy(x))  # 1 x 256 x 64 x 64, the exported embedding
            if pe is None:
                pe = sam.prompt_encoder.pe_layer(tuple(emb.shape[-2:])).unsqueeze(0)
            n_extra = int(rng.integers(0, max_extra + 1))

            def record(stage: str, true_iou: torch.Tensor, use_box: torch.Tensor) -> None:
                feats.append(captured[-1])
                true.append(true_iou.float().cpu())
                single.append((~use_box).cpu() if stage == "first" else torch.zeros(len(use_box), dtype=torch.bool))
                scene_of.append(torch.full((len(use_box),), i, dtype=torch.long))
                captured.clear()

            prompt_loss(sam, emb.expand(targets, -1, -1, -1), pe, gt, gen, n_extra, opts, record=record)
            i += 1
    finally:
        hook.remove()
    return {"feats": torch.cat(feats), "true": torch.cat(true), "single": torch.cat(single),
            "scene": torch.cat(scene_of), "n_scenes": i, "seconds": time.time() - t0}


def _collect_worker(job: Tuple) -> Dict[str, torch.Tensor]:
    init, minutes, targets, max_extra, opts, seed, variety, max_scenes = job
    cpu_tuning.keep_freed_memory()
    torch.set_num_threads(1)
    sam = build_sam("light", checkpoint=init).float().eval()
    return collect(sam, minutes, targets, max_extra, opts, seed, variety, max_scenes)


def collect_parallel(init: str, workers: int, minutes: float, targets: int, max_extra: int, opts: Dict[str, float],
                     seed: int, variety: float, max_scenes: int = 0) -> Dict[str, torch.Tensor]:
    """collect() in `workers` processes (each its own scenes: seed x 1000 + worker), merged; the
    scene numbers of worker w are offset by w x 10^6 (the held-out split stays every N-th scene)."""
    per = -(-max_scenes // workers) if max_scenes else 0
    jobs = [(init, minutes, targets, max_extra, opts, seed * 1000 + w, variety, per) for w in range(workers)]
    if workers == 1:
        parts = [_collect_worker(jobs[0])]
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            parts = pool.map(_collect_worker, jobs)
    out = {k: torch.cat([p[k] for p in parts]) for k in ("feats", "true", "single")}
    out["scene"] = torch.cat([p["scene"] + w * 1_000_000 for w, p in enumerate(parts)])
    out["n_scenes"] = sum(p["n_scenes"] for p in parts)
    out["seconds"] = max(p["seconds"] for p in parts)
    return out


def shown_iou(pred: torch.Tensor, true: torch.Tensor) -> Tuple[float, float]:
    """Single-click rows: (mean true IoU of the highest-predicted multimask output, share where
    that output is (one of) the best of the three)."""
    top = pred[:, 1:].argmax(1) + 1
    rows = torch.arange(len(pred))
    shown = true[rows, top]
    return float(shown.mean()), float((shown >= true[:, 1:].max(1).values - 1e-6).float().mean())


def metrics(head, data: Dict[str, torch.Tensor], idx: torch.Tensor) -> Dict[str, float]:
    with torch.no_grad():
        pred = head(data["feats"][idx]).float()
    true = data["true"][idx]
    one = data["single"][idx]
    p3, t3 = pred[one][:, 1:].flatten(), true[one][:, 1:].flatten()
    corr = float(torch.corrcoef(torch.stack([p3, t3]))[0, 1]) if len(p3) > 1 else 0.0
    shown, top_best = shown_iou(pred[one], true[one])
    return {"mse": round(float(F.mse_loss(pred, true)), 5), "corr_1click": round(corr, 4),
            "shown_iou_1click": round(shown, 4), "top_is_best": round(top_best, 4)}


def fit(head, data: Dict[str, torch.Tensor], holdout: int, epochs: int, lr: float, batch: int,
        seed: int, rank_weight: float = 0.0, rank_temperature: float = 0.05) -> Tuple[Dict, List[Dict]]:
    """AdamW on the MSE (+ rank_weight x the cross-entropy of a softmax over the 3 multimask
    predictions / rank_temperature against the truly best one, on single-click rows); returns
    (the best state dict by held-out shown IoU, the log)."""
    held = (data["scene"] % holdout) == 0
    tr_idx, ho_idx = torch.nonzero(~held)[:, 0], torch.nonzero(held)[:, 0]
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(seed)
    log = [{"epoch": 0, "train": metrics(head, data, tr_idx), "heldout": metrics(head, data, ho_idx)}]
    best = (log[0]["heldout"]["shown_iou_1click"], {k: v.clone() for k, v in head.state_dict().items()}, 0)
    x, y = data["feats"], data["true"]
    for ep in range(1, epochs + 1):
        order = tr_idx[torch.randperm(len(tr_idx), generator=gen)]
        g = lr * 0.5 * (1 + np.cos(np.pi * (ep - 1) / epochs))
        for grp in opt.param_groups:
            grp["lr"] = g
        for s in range(0, len(order), batch):
            b = order[s:s + batch]
            pred = head(x[b])
            loss = F.mse_loss(pred, y[b])
            one = data["single"][b]
            if rank_weight and bool(one.any()):
                loss = loss + rank_weight * F.cross_entropy(pred[one][:, 1:] / rank_temperature, y[b][one][:, 1:].argmax(1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if ep % max(1, epochs // 50) == 0 or ep == epochs:
            rec = {"epoch": ep, "train": metrics(head, data, tr_idx), "heldout": metrics(head, data, ho_idx)}
            log.append(rec)
            if rec["heldout"]["shown_iou_1click"] > best[0]:
                best = (rec["heldout"]["shown_iou_1click"], {k: v.clone() for k, v in head.state_dict().items()}, ep)
    log.append({"best_epoch": best[2]})
    return best[1], log


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="fit_iou_head.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--init", required=True, help="model.pt of a light model (train.py's, or assets/model's)")
    ap.add_argument("--out", required=True, help="folder for model.pt and fit_log.json")
    ap.add_argument("--minutes", type=float, default=20, help="wall clock for collecting prompts")
    ap.add_argument("--max-scenes", type=int, default=0, help="stop collecting after this many scenes (0: no limit)")
    ap.add_argument("--targets", type=int, default=8, help="prompt sequences per scene")
    ap.add_argument("--max-extra", type=int, default=4, help="most corrective clicks after the first prompt")
    ap.add_argument("--box-share", type=float, default=0.3)
    ap.add_argument("--centre-share", type=float, default=0.6)
    ap.add_argument("--variety", type=float, default=0.5, help="share of synth's richer training scenes")
    ap.add_argument("--save-data", metavar="PATH", help="also keep the collected pairs in this file")
    ap.add_argument("--data", metavar="PATH", help="fit on pairs collected before (--save-data) with these --init weights")
    ap.add_argument("--holdout", type=int, default=10, help="every N-th collected scene is held out")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--rank-weight", type=float, default=0.0,
                    help="> 0: add this x a cross-entropy that the highest prediction of the 3 multimask outputs "
                         "be the truly best (single clicks)")
    ap.add_argument("--rank-temperature", type=float, default=0.05)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--workers", type=int, default=1, help="processes collecting prompts (one thread each)")
    ap.add_argument("--threads", type=int, default=1, help="PyTorch threads of the fit")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if not args.data and args.minutes <= 0 and args.max_scenes <= 0:
        ap.error("give --minutes or --max-scenes (a collection needs an end), or --data")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    sd = torch.load(args.init, map_location="cpu")  # for the dtypes to write back
    sam = build_sam("light", checkpoint=args.init).float().eval()
    opts = {"box_share": args.box_share, "centre_share": args.centre_share, "iou_weight": 1.0, "focal_weight": 0.0,
            "box_jitter": 0.1}
    if args.data:  # an earlier collection of the same weights (--save-data): only the fit
        data = torch.load(args.data)
    else:
        data = collect_parallel(args.init, args.workers, args.minutes, args.targets, args.max_extra, opts, args.seed,
                                args.variety, args.max_scenes)
        if args.save_data:
            torch.save(data, args.save_data)
    n = len(data["true"])
    print(f"collected {n} prompts ({int(data['single'].sum())} single clicks) from {data['n_scenes']} scenes in "
          f"{data['seconds'] / 60:.1f} min", flush=True)
    if data["n_scenes"] < 2 * args.holdout:
        print(f"error: {data['n_scenes']} scenes are too few for a held-out share of 1 in {args.holdout}",
              file=sys.stderr)
        return 1
    head = sam.mask_decoder.iou_prediction_head
    with torch.enable_grad():
        best, log = fit(head, data, args.holdout, args.epochs, args.lr, args.batch, args.seed, args.rank_weight,
                        args.rank_temperature)
    head.load_state_dict(best)
    first, last = log[0]["heldout"], next(r for r in reversed(log) if "heldout" in r and r["epoch"] ==
                                          log[-1]["best_epoch"])["heldout"]
    print("held-out before: " + json.dumps(first), flush=True)
    print(f"held-out after (epoch {log[-1]['best_epoch']}): " + json.dumps(last), flush=True)
    out_sd = {k: (v.to(sd[k].dtype) if k in sd else v) for k, v in sam.state_dict().items()}
    tmp = os.path.join(args.out, "model.pt.tmp")
    torch.save(out_sd, tmp)
    os.replace(tmp, os.path.join(args.out, "model.pt"))
    with open(os.path.join(args.out, "fit_log.json"), "w") as f:
        json.dump({"args": vars(args), "prompts": n, "scenes": data["n_scenes"],
                   "collect_minutes": round(data["seconds"] / 60, 2), "log": log}, f, indent=1)
    print(f"model in {args.out}/model.pt", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
