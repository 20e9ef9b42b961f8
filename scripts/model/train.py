"""Train the bundled "light" SAM-compatible model on synthetic scenes (synth.py), on CPU.

    .venv/bin/python scripts/model/train.py --out build/train --minutes 90           # resumes from --out/ckpt.pt
    .venv/bin/python scripts/model/train.py --out build/train --minutes 15 --size 1024  # fine-tune at full size

SAM's recipe in small: per image a few target masks, each prompted by one click
(uniform inside the mask) or a jittered box, then 0-4 corrective clicks sampled
from the error region of the previous prediction with its low-res logits fed
back as mask_input. Loss BCE + dice (see mask_losses) on the best multimask output for a
single click (token 0 for a box or several clicks), plus MSE of the IoU head.
Images are `--size` px (longest side) padded square; coordinates are given to the
prompt encoder in the 1024-space, so the weights run unchanged at 1024 (the
encoder is convolutional, the dense PE is computed for the smaller grid).
The learning rate follows wall-clock time (warm-up, cosine to --minutes).
Checkpoints (model, optimiser, step, time used) every --ckpt-minutes.
"""
import argparse
import json
import math
import os
import signal
import sys
import time
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sam_model import build_sam  # noqa: E402
from sam_model.light_encoder import LightEncoder  # noqa: E402
from sam_model.sam import PIXEL_MEAN, PIXEL_STD  # noqa: E402
from synth import make_scene, random_size  # noqa: E402

GT_RES = 256  # loss / click-sampling grid; a cell is 4 px of the 1024-space


# ---------------------------------------------------------------- tensors
def to_input(image: np.ndarray, size: int) -> torch.Tensor:
    """H x W x 3 uint8 (longest side == size) -> 3 x size x size normalised, padded bottom-right."""
    x = torch.from_numpy(np.array(image, np.float32)).permute(2, 0, 1)
    x = (x - torch.tensor(PIXEL_MEAN).view(3, 1, 1)) / torch.tensor(PIXEL_STD).view(3, 1, 1)
    return F.pad(x, (0, size - x.shape[2], 0, size - x.shape[1]))


def masks_to_grid(masks: List[np.ndarray], size: int) -> torch.Tensor:
    """HxW bool masks of a size-px image -> K x GT_RES x GT_RES float {0,1} on the padded square."""
    m = torch.zeros(len(masks), 1, size, size)
    for i, mk in enumerate(masks):
        m[i, 0, : mk.shape[0], : mk.shape[1]] = torch.from_numpy(mk.astype(np.float32))
    if size != GT_RES:
        m = F.adaptive_avg_pool2d(m, GT_RES) if size > GT_RES else F.interpolate(m, GT_RES, mode="nearest")
    return (m[:, 0] >= 0.5).float()


# ---------------------------------------------------------------- prompts
def first_click(gt: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """K x G x G -> K x 2 (x, y) in the 1024-space, uniform over each mask."""
    k = gt.shape[0]
    w = gt.reshape(k, -1) + 1e-12
    idx = torch.multinomial(w, 1, generator=gen)[:, 0]
    y, x = idx // GT_RES, idx % GT_RES
    return torch.stack([(x + 0.5), (y + 0.5)], 1) * (1024 / GT_RES)


def error_click(pred: torch.Tensor, gt: torch.Tensor, gen: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """Uniform over the error region (SAM): positive where the mask is missed, negative where it spills."""
    k = gt.shape[0]
    err = (pred.float() != gt).float().reshape(k, -1)
    idx = torch.multinomial(err + 1e-12, 1, generator=gen)[:, 0]
    y, x = idx // GT_RES, idx % GT_RES
    label = gt.reshape(k, -1)[torch.arange(k), idx]
    return torch.stack([(x + 0.5), (y + 0.5)], 1) * (1024 / GT_RES), label


def jittered_box(gt: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """K x 4 (x0, y0, x1, y1) 1024-space: the mask's box, each side moved by N(0, 0.1 side), at most 20 px."""
    k = gt.shape[0]
    ys = gt.amax(2) > 0
    xs = gt.amax(1) > 0
    ar = torch.arange(GT_RES).float()
    x0 = torch.where(xs, ar, torch.full_like(ar, 1e9)).amin(1)
    x1 = torch.where(xs, ar, torch.full_like(ar, -1)).amax(1) + 1
    y0 = torch.where(ys, ar, torch.full_like(ar, 1e9)).amin(1)
    y1 = torch.where(ys, ar, torch.full_like(ar, -1)).amax(1) + 1
    box = torch.stack([x0, y0, x1, y1], 1) * (1024 / GT_RES)
    side = torch.stack([box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]] * 2, 1)
    noise = (torch.randn(k, 4, generator=gen) * 0.1 * side).clamp(-20, 20)
    return (box + noise).clamp(0, 1023)


def pad_prompts(coords: List[torch.Tensor], labels: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-prompt (n_i x 2, n_i) -> K x N x 2, K x N, padded with label -1 (at least one padding point
    when a prompt has no box, as the official ONNX example feeds it)."""
    n = max(len(l) + int(not bool((l >= 2).any())) for l in labels)
    pc = torch.zeros(len(coords), n, 2)
    pl = -torch.ones(len(coords), n)
    for i, (c, l) in enumerate(zip(coords, labels)):
        pc[i, : len(l)] = c
        pl[i, : len(l)] = l
    return pc, pl


# ---------------------------------------------------------------- model
def tie_attention_init(sam) -> None:
    """Start every decoder attention with k_proj = q_proj. Then q . k contains
    PE(click) . W^T W . PE(cell), which peaks at the clicked cell, so from the first step
    a prompt token reads the features under its click. With independent random q/k
    the decoder must first discover that matching, and in our short CPU runs it had
    not after 170 steps: its masks ignored the click."""
    for m in sam.mask_decoder.modules():
        if hasattr(m, "q_proj") and hasattr(m, "k_proj"):
            with torch.no_grad():
                m.k_proj.weight.copy_(m.q_proj.weight)
                m.k_proj.bias.copy_(m.q_proj.bias)


def decode(sam, emb: torch.Tensor, pe: torch.Tensor, coords: torch.Tensor, labels: torch.Tensor,
           mask_input: torch.Tensor, has_mask: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """emb 1 x 256 x g x g, prompts K x N -> low-res logits K x 4 x 4g x 4g, IoU K x 4 (the ONNX path)."""
    p = sam.prompt_encoder
    sparse = p.embed_points_labels(coords, labels)
    dense = p.embed_mask_or_default(mask_input, torch.tensor([has_mask]))
    if has_mask == 0:
        dense = dense.expand(coords.shape[0], -1, emb.shape[2], emb.shape[3])
    return sam.mask_decoder.predict_masks(emb, pe, sparse, dense)


def at_gt_res(logits: torch.Tensor) -> torch.Tensor:
    return logits if logits.shape[-1] == GT_RES else F.interpolate(logits, GT_RES, mode="bilinear", align_corners=False)


def mask_losses(logits: torch.Tensor, gt: torch.Tensor, focal_weight: float = 0.0) -> torch.Tensor:
    """logits K x T x G x G, gt K x G x G -> K x T of BCE + dice (+ focal_weight * focal).
    SAM uses 20 * focal + dice; in our short CPU runs that collapsed to all-background
    within ~100 steps (focal's pull on the many easy negatives, dice's vanishing
    gradient once the sigmoid saturates), plain BCE + dice did not."""
    g = gt[:, None].expand_as(logits)
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, g, reduction="none")
    loss = ce.mean((2, 3))
    if focal_weight:
        pt = p * g + (1 - p) * (1 - g)
        loss = loss + focal_weight * (ce * (1 - pt) ** 2 * (0.25 * g + 0.75 * (1 - g))).mean((2, 3))
    inter = (p * g).sum((2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((2, 3)) + g.sum((2, 3)) + 1)
    return loss + dice


def iou_of(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    pred = logits > 0
    g = gt[:, None].bool()
    inter = (pred & g).sum((2, 3)).float()
    union = (pred | g).sum((2, 3)).float()
    return inter / union.clamp(min=1)


def sample_batch(rng: np.random.Generator, size: int, n_targets: int):
    """One scene: (input 3 x S x S, gt K x G x G)."""
    while True:
        scene = make_scene(rng, random_size(rng, size))
        if scene.masks:
            break
    # Larger masks more often (p ~ sqrt(area)): users click objects more than specks, and
    # in short runs the tiny parts otherwise dominate the loss.
    area = np.array([m.sum() for m in scene.masks], np.float64)
    pick = rng.choice(len(scene.masks), size=n_targets, replace=len(scene.masks) < n_targets,
                      p=np.sqrt(area) / np.sqrt(area).sum())
    return to_input(scene.image, size), masks_to_grid([scene.masks[i] for i in pick], size)


def prompt_loss(sam, emb, pe, gt, gen, max_extra: int, box_share: float) -> Tuple[torch.Tensor, Dict[str, float]]:
    k = gt.shape[0]
    g = emb.shape[-1] * 4
    use_box = torch.rand(k, generator=gen) < box_share
    clicks = first_click(gt, gen)
    boxes = jittered_box(gt, gen)
    coords = [boxes[i].view(2, 2) if use_box[i] else clicks[i:i + 1] for i in range(k)]
    labels = [torch.tensor([2.0, 3.0]) if use_box[i] else torch.tensor([1.0]) for i in range(k)]
    pc, pl = pad_prompts(coords, labels)
    no_mask = torch.zeros(1, 1, g, g)
    logits, iou_pred = decode(sam, emb, pe, pc, pl, no_mask, 0.0)
    up = at_gt_res(logits)
    per = mask_losses(up, gt)
    # Single click: the best of the 3 multimask outputs; box: token 0.
    loss_mask = torch.where(use_box, per[:, 0], per[:, 1:].min(1).values).mean()
    true_iou = iou_of(up.detach(), gt)
    loss = loss_mask + F.mse_loss(iou_pred, true_iou)
    stats = {"l1": float(loss_mask), "iou1": float(torch.where(use_box, true_iou[:, 0], true_iou[:, 1:].max(1).values).mean())}

    n_extra = int(torch.randint(0, max_extra + 1, (1,), generator=gen))
    if n_extra == 0:
        return loss, stats
    # The mask fed back: the output an app would show (highest predicted IoU; token 0 for boxes).
    with torch.no_grad():
        best = torch.where(use_box, torch.zeros(k, dtype=torch.long), iou_pred[:, 1:].argmax(1) + 1)
        prev = logits.detach()[torch.arange(k), best][:, None]
        prev_up = up.detach()[torch.arange(k), best]
        emb_ng = emb.detach()
        for it in range(n_extra):
            c, l = error_click(prev_up > 0, gt, gen)
            coords = [torch.cat([coords[i], c[i:i + 1]]) for i in range(k)]
            labels = [torch.cat([labels[i], l[i:i + 1]]) for i in range(k)]
            if it == n_extra - 1:
                break
            pc, pl = pad_prompts(coords, labels)
            lg, _ = decode(sam, emb_ng, pe, pc, pl, prev, 1.0)
            prev = lg[:, :1]
            prev_up = at_gt_res(prev)[:, 0]
    pc, pl = pad_prompts(coords, labels)
    logits, iou_pred = decode(sam, emb, pe, pc, pl, prev, 1.0)
    up = at_gt_res(logits)
    per = mask_losses(up, gt)
    true_iou = iou_of(up.detach(), gt)
    loss_refine = per[:, 0].mean()
    stats.update({"l2": float(loss_refine), "iou_refined": float(true_iou[:, 0].mean()), "n_extra": n_extra})
    return loss + loss_refine + F.mse_loss(iou_pred, true_iou), stats


# ---------------------------------------------------------------- held-out check
@torch.no_grad()
def quick_heldout(sam, size: int, n_scenes: int = 16) -> Dict[str, float]:
    """mIoU on fixed scenes at the training size (1 click / box), for the log."""
    sam.eval()
    gen = torch.Generator().manual_seed(0)
    pe = sam.prompt_encoder.pe_layer((size // 16, size // 16)).unsqueeze(0)
    one, box = [], []
    for i in range(n_scenes):
        x, gt = sample_batch(np.random.default_rng(9_000_000 + i), size, 4)
        emb = sam.image_encoder(x[None])
        g = emb.shape[-1] * 4
        c = first_click(gt, gen)
        pc, pl = pad_prompts([c[j:j + 1] for j in range(4)], [torch.tensor([1.0])] * 4)
        lg, ip = decode(sam, emb, pe, pc, pl, torch.zeros(1, 1, g, g), 0.0)
        iou = iou_of(at_gt_res(lg), gt)
        one.append(iou[torch.arange(4), ip[:, 1:].argmax(1) + 1])
        b = jittered_box(gt, gen)
        pc, pl = pad_prompts([b[j].view(2, 2) for j in range(4)], [torch.tensor([2.0, 3.0])] * 4)
        lg, _ = decode(sam, emb, pe, pc, pl, torch.zeros(1, 1, g, g), 0.0)
        box.append(iou_of(at_gt_res(lg), gt)[:, 0])
    sam.train()
    return {"heldout_1click": float(torch.cat(one).mean()), "heldout_box": float(torch.cat(box).mean())}


# ---------------------------------------------------------------- main loop
def save_atomic(obj, path: str) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(args) -> int:
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    torch.manual_seed(args.seed)
    sam = build_sam("light").train()
    sam.image_encoder.input_pool = 1  # fed the training size directly
    opt = torch.optim.AdamW(sam.parameters(), lr=args.lr, weight_decay=0.01)
    step, used = 0, 0.0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        sam.load_state_dict(ck["model"])
        if not args.new_schedule:
            opt.load_state_dict(ck["opt"])
            step, used = ck["step"], ck["seconds"]
        print(f"resumed from {ckpt_path}: step {ck['step']}, {ck['seconds'] / 60:.1f} min used", flush=True)
    elif args.init:
        sam.load_state_dict(torch.load(args.init, map_location="cpu"))
    budget = args.minutes * 60
    rng = np.random.default_rng(args.seed * 1000 + step)
    gen = torch.Generator().manual_seed(args.seed * 1000 + step)
    pe = sam.prompt_encoder.pe_layer((args.size // 16, args.size // 16)).unsqueeze(0)
    log = open(os.path.join(args.out, "train_log.jsonl"), "a")
    t_start = time.time() - used
    last_ckpt = last_eval = time.time()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))  # kill PID: checkpoint, then exit
    while time.time() - t_start < budget and not stop:
        frac = (time.time() - t_start) / budget
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for grp in opt.param_groups:
            grp["lr"] = lr
        t0 = time.time()
        batch = [sample_batch(rng, args.size, args.targets) for _ in range(args.images)]
        t_data = time.time() - t0
        emb = sam.image_encoder(torch.stack([b[0] for b in batch]))
        loss = 0.0
        stats: Dict[str, float] = {}
        for i, (_, gt) in enumerate(batch):
            li, si = prompt_loss(sam, emb[i:i + 1], pe, gt, gen, args.max_extra, args.box_share)
            loss = loss + li / len(batch)
            for k, v in si.items():
                stats[k] = stats.get(k, 0.0) + v / len(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(sam.parameters(), 1.0)
        opt.step()
        step += 1
        rec = {"step": step, "min": round((time.time() - t_start) / 60, 2), "lr": round(lr, 6), "loss": round(float(loss), 4),
               "s_step": round(time.time() - t0, 2), "s_data": round(t_data, 2)}
        rec.update({k: round(v, 4) for k, v in stats.items()})
        if time.time() - last_eval > args.eval_minutes * 60:
            rec.update(quick_heldout(sam, args.size))
            last_eval = time.time()
        log.write(json.dumps(rec) + "\n")
        log.flush()
        if step % 10 == 0 or "heldout_1click" in rec:
            print(json.dumps(rec), flush=True)
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            save_atomic({"model": sam.state_dict(), "opt": opt.state_dict(), "step": step,
                         "seconds": time.time() - t_start}, ckpt_path)
            last_ckpt = time.time()
    save_atomic({"model": sam.state_dict(), "opt": opt.state_dict(), "step": step, "seconds": time.time() - t_start},
                ckpt_path)
    torch.save(sam.state_dict(), os.path.join(args.out, "model.pt"))
    print(f"done: {step} steps, model in {args.out}/model.pt", flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="train.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for ckpt.pt, model.pt, train_log.jsonl")
    ap.add_argument("--minutes", type=float, default=90, help="wall-clock budget (the lr schedule follows it)")
    ap.add_argument("--size", type=int, default=256,
                    help="input size (longest side, padded square), multiple of 32; the exported encoder "
                         "average-pools its 1024 input by LightEncoder.input_pool = 1024 / size")
    ap.add_argument("--images", type=int, default=1, help="images per step")
    ap.add_argument("--targets", type=int, default=6, help="target masks (prompt sequences) per image")
    ap.add_argument("--max-extra", type=int, default=3, help="most corrective clicks after the first prompt")
    ap.add_argument("--box-share", type=float, default=0.3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1, help="1 is much faster than 2 on a loaded machine")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ckpt-minutes", type=float, default=4)
    ap.add_argument("--eval-minutes", type=float, default=10)
    ap.add_argument("--init", help="start from these weights (a model.pt) when there is no checkpoint")
    ap.add_argument("--new-schedule", action="store_true", help="resume weights only (fresh optimiser/schedule)")
    args = ap.parse_args(argv)
    if args.size % 32:
        ap.error("--size must be a multiple of 32")
    if args.size * LightEncoder.input_pool != 1024:
        print(f"note: --size {args.size} but LightEncoder.input_pool = {LightEncoder.input_pool}: set input_pool to "
              f"{1024 // args.size} before exporting these weights", file=sys.stderr)
    return train(args)


if __name__ == "__main__":
    sys.exit(main())
