"""Train the bundled "light" SAM-compatible model on synthetic scenes (synth.py), on a CPU or a CUDA GPU.

    # this machine (CPU): nice, so that other jobs go first; one trainer thread + one scene worker
    nice -n 19 .venv/bin/python scripts/model/train.py --out build/train/run --minutes 200
    nice -n 19 .venv/bin/python scripts/model/train.py --out build/train/run --minutes 240 --resume
    # a CUDA machine with PyTorch (1.13 or 2.x), NumPy, SciPy and Pillow, nothing to install:
    python3 scripts/model/train.py --out run --minutes 9 --images 48 --targets 12 --workers 15 --lr 2e-3
    python3 scripts/model/train.py --bench-data 20 --workers 15   # scenes per second of the generator

The device is CUDA when there is one (mixed precision: float16 autocast + GradScaler),
else the CPU. Scenes are generated in --workers processes (DataLoader, pinned
batches on CUDA). One step is SAM's interactive training simulation in small, batched
over all prompts of all images: per image --targets masks (uniform over its visible
masks, parts included, as evaluate.py picks them), each prompted by one click (inside
the mask, near its centre with probability --centre-share, else uniform) or by its box
(jittered for half of them), then 0..--max-extra corrective clicks sampled from the error
of the previous prediction (near the centre of the larger error region, else uniform over
the error; positive where missed, negative where spilled) with its low-res logits fed back
as mask_input. Losses: the mask loss (BCE + dice, or --focal-weight x focal + dice as
SAM's 20:1, from --focal-after of the budget) of the best multimask output for a single
click, of token 0 for a box or several clicks; plus --iou-weight x MSE between the IoU head
and the true IoU of every output (SAM: weight 1 against 20 x focal; next to BCE + dice the
IoU term must weigh more to be learnt at all). AdamW, linear warm-up, cosine decay of the
learning rate over the budget (--minutes of wall clock, or of this process's CPU time with
--clock cpu, for comparing recipes on a shared machine), gradient clipping at 1.0.
Images are --size px (longest side, padded square); coordinates are in the 1024-space,
so the weights run unchanged on the exported 1024 input (LightEncoder.input_pool).
Checkpoints (model, optimiser, scaler, step, time used) every --ckpt-minutes and on
SIGTERM / Ctrl-C; --resume continues one. Held-out mIoU (evaluate.py's protocol on
--eval-scenes held-out scenes, PyTorch, the exported path) every --eval-minutes.
"""
import argparse
import json
import math
import os
import signal
import sys
import time
from typing import Callable, Dict, Iterator, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_tuning  # noqa: E402
if __name__ == "__main__":  # before NumPy / PyTorch load OpenBLAS
    cpu_tuning.configure(cpu_tuning.threads_from_argv())

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from sam_model import build_sam  # noqa: E402
from sam_model.layers import ConvTranspose2x2  # noqa: E402
from sam_model.light_encoder import InvertedResidual, LightEncoder  # noqa: E402
from sam_model.sam import PIXEL_MEAN, PIXEL_STD  # noqa: E402
from synth import make_scene, random_size  # noqa: E402

GT_RES = 256  # loss / click-sampling grid; a cell is 4 px of the 1024-space
HELDOUT_LOG_FIRST = 5000  # held-out scenes of the training log: not those of the model card (0..499)


# ---------------------------------------------------------------- scenes -> tensors
def to_input(image: np.ndarray, size: int) -> torch.Tensor:
    """H x W x 3 uint8 (longest side == size) -> 3 x size x size normalised, padded bottom-right."""
    x = torch.from_numpy(np.array(image, np.float32)).permute(2, 0, 1)
    x = (x - torch.tensor(PIXEL_MEAN).view(3, 1, 1)) / torch.tensor(PIXEL_STD).view(3, 1, 1)
    return F.pad(x, (0, size - x.shape[2], 0, size - x.shape[1]))


def masks_to_grid(masks: List[np.ndarray], size: int) -> torch.Tensor:
    """HxW bool masks of a size-px image -> K x GT_RES x GT_RES uint8 {0,1} on the padded square."""
    m = torch.zeros(len(masks), 1, size, size)
    for i, mk in enumerate(masks):
        m[i, 0, : mk.shape[0], : mk.shape[1]] = torch.from_numpy(mk.astype(np.float32))
    if size != GT_RES:
        m = F.adaptive_avg_pool2d(m, GT_RES) if size > GT_RES else F.interpolate(m, GT_RES, mode="nearest")
    return (m[:, 0] >= 0.5).to(torch.uint8)


def _shrink(image: np.ndarray, masks: List[np.ndarray], longest: int) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Box-filter a rendered scene down to `longest` px (what the exported encoder's average
    pooling does to a photo), masks by area (a pixel is in when half of it was)."""
    h, w = image.shape[:2]
    if max(h, w) == longest:
        return image, masks
    s = longest / max(h, w)
    size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
    small = np.asarray(Image.fromarray(image).resize(size, Image.BOX))
    return small, [np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize(size, Image.BOX)) >= 128 for m in masks]


def sample_batch(rng: np.random.Generator, size: int, n_targets: int, render_max: float = 1.0,
                 variety: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """One training scene: (input 3 x size x size float32, gt n_targets x GT_RES x GT_RES uint8).
    The scene is rendered at size x U(1, render_max) px and box-filtered to size; with
    probability `variety` it is one of synth's richer training scenes (more photos, clutter)."""
    while True:
        render = int(round(size * rng.uniform(1.0, render_max))) if render_max > 1 else size
        scene = make_scene(rng, random_size(rng, render), variety=bool(rng.random() < variety))
        if scene.masks:
            break
    # Uniform over the visible masks, parts and sub-parts included (evaluate.py's choice).
    pick = rng.choice(len(scene.masks), size=n_targets, replace=len(scene.masks) < n_targets)
    image, masks = _shrink(scene.image, [scene.masks[i] for i in pick], size)
    return to_input(image, size), masks_to_grid(masks, size)


class SceneStream(torch.utils.data.IterableDataset):
    """Endless training scenes; each DataLoader worker draws from its own seeded generator
    (seed, first step, worker), so a resumed run does not replay the scenes it has seen."""

    def __init__(self, size: int, targets: int, seed: int, first_step: int, render_max: float, variety: float) -> None:
        super().__init__()
        self.size, self.targets, self.seed, self.first_step = size, targets, seed, first_step
        self.render_max, self.variety = render_max, variety

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, self.first_step, info.id if info is not None else 0])
        while True:
            yield sample_batch(rng, self.size, self.targets, self.render_max, self.variety)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # the workers run NumPy / Pillow; one thread each
    # Ctrl-C reaches the whole process group: the trainer checkpoints and stops its workers;
    # a worker killed by it first would make the trainer fail instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def scene_loader(args, first_step: int, pin: bool) -> torch.utils.data.DataLoader:
    kw = {}
    if args.workers > 0:  # PyTorch 1.13 refuses these without workers
        kw = dict(prefetch_factor=4, persistent_workers=True, worker_init_fn=_worker_init)
    return torch.utils.data.DataLoader(SceneStream(args.size, args.targets, args.seed, first_step, args.render_max,
                                                   args.variety),
                                       batch_size=args.images, num_workers=args.workers, pin_memory=pin, **kw)


# ---------------------------------------------------------------- prompts (batched, on the device)
def _to_1024(idx: torch.Tensor) -> torch.Tensor:
    """Flat GT_RES^2 cell indices -> N x 2 (x, y) cell centres in the 1024-space."""
    y, x = idx // GT_RES, idx % GT_RES
    return torch.stack([x + 0.5, y + 0.5], 1).float() * (1024 / GT_RES)


def region_depth(region: torch.Tensor, iters: int = 16) -> torch.Tensor:
    """N x G x G {0,1} -> N x G/4 x G/4: how many 3x3 erosions each coarse cell survives (a
    coarse cell is in when all its 4 x 4 cells are; the picture border counts as outside),
    capped at `iters`; a cheap stand-in for the distance transform evaluate.py clicks with."""
    cur = -F.max_pool2d(-region[:, None].float(), 4)
    depth = cur.clone()
    for _ in range(iters - 1):
        cur = -F.max_pool2d(-F.pad(cur, (1, 1, 1, 1)), 3, 1)
        if not bool(cur.any()):
            break
        depth = depth + cur
    return depth[:, 0]


def sample_in(region: torch.Tensor, centre: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One cell per row of region (N x G x G {0,1}): where centre[i], near the region's middle
    (coarse depth >= 0.75 x its maximum, for regions at least 4 cells thick), else uniform.
    Returns flat indices N (rows with an empty region get any cell)."""
    n = region.shape[0]
    r = region.reshape(n, -1).float()
    if bool(centre.any()):
        d = region_depth(region)
        thick = d.amax((1, 2)) >= 1
        core = (d >= (0.75 * d.amax((1, 2), keepdim=True)).clamp(min=1)).float()
        core = core.repeat_interleave(4, 1).repeat_interleave(4, 2).reshape(n, -1) * r
        use = (centre & thick)[:, None]
        r = torch.where(use, core, r)
    return torch.multinomial(r + 1e-12, 1, generator=gen)[:, 0]


def first_click(gt: torch.Tensor, gen: torch.Generator, centre_share: float) -> torch.Tensor:
    """N x G x G -> N x 2 (x, y) 1024-space: a click inside each mask."""
    centre = torch.rand(gt.shape[0], generator=gen, device=gt.device) < centre_share
    return _to_1024(sample_in(gt, centre, gen))


def error_click(pred: torch.Tensor, gt: torch.Tensor, gen: torch.Generator,
                centre_share: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """The next corrective click: with probability centre_share near the middle of the larger
    error region (missed or spilled; larger = survives more erosions, then more cells), as
    evaluate.py clicks, else uniform over the whole error region (SAM). Returns (N x 2, labels N)."""
    n = gt.shape[0]
    g = gt.bool()
    fn, fp = g & ~pred, pred & ~g
    centre = torch.rand(n, generator=gen, device=gt.device) < centre_share
    d = region_depth(torch.cat([fn, fp]).to(torch.uint8))
    dn, dp = d[:n].amax((1, 2)), d[n:].amax((1, 2))
    an, ap = fn.reshape(n, -1).sum(1), fp.reshape(n, -1).sum(1)
    take_fn = (dn > dp) | ((dn == dp) & (an >= ap))
    region = torch.where(centre[:, None, None], torch.where(take_fn[:, None, None], fn, fp), fn | fp)
    idx = sample_in(region.to(torch.uint8), centre, gen)
    label = gt.reshape(n, -1).gather(1, idx[:, None])[:, 0].float()
    return _to_1024(idx), label


def mask_box(gt: torch.Tensor) -> torch.Tensor:
    """N x G x G -> N x 4 (x0, y0, x1, y1) 1024-space tight boxes."""
    ar = torch.arange(GT_RES, device=gt.device).float()
    ys, xs = gt.amax(2) > 0, gt.amax(1) > 0
    x0 = torch.where(xs, ar, torch.full_like(ar, 1e9)).amin(1)
    x1 = torch.where(xs, ar, torch.full_like(ar, -1)).amax(1) + 1
    y0 = torch.where(ys, ar, torch.full_like(ar, 1e9)).amin(1)
    y1 = torch.where(ys, ar, torch.full_like(ar, -1)).amax(1) + 1
    return torch.stack([x0, y0, x1, y1], 1) * (1024 / GT_RES)


def jittered_box(gt: torch.Tensor, gen: torch.Generator, jitter: float = 0.1, share: float = 0.5) -> torch.Tensor:
    """The masks' boxes; for `share` of them each side moved by N(0, jitter x side), at most 20 px (SAM)."""
    box = mask_box(gt)
    side = torch.stack([box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]] * 2, 1)
    noise = (torch.randn(box.shape, generator=gen, device=gt.device) * jitter * side).clamp(-20, 20)
    noise = noise * (torch.rand(box.shape[0], 1, generator=gen, device=gt.device) < share)
    return (box + noise).clamp(0, 1023)


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
           mask_input: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """One prompt per row: emb N x 256 x g x g, coords N x T x 2 (1024-space), labels N x T,
    mask_input N x 1 x 4g x 4g logits or None -> low-res logits N x 4 x 4g x 4g, IoU N x 4.
    The arithmetic of the exported decoders (embed_points_labels, no_mask_embed / mask_downscaling)."""
    p, md = sam.prompt_encoder, sam.mask_decoder
    sparse = p.embed_points_labels(coords, labels)
    dense = p.no_mask_embed.weight.reshape(1, -1, 1, 1) if mask_input is None else p.mask_downscaling(mask_input)
    n = coords.shape[0]
    tokens = torch.cat([md.iou_token.weight, md.mask_tokens.weight], 0).unsqueeze(0).expand(n, -1, -1)
    return md.predict_from_tokens(emb + dense, pe.expand(n, -1, -1, -1), torch.cat([tokens, sparse], 1))


def at_gt_res(logits: torch.Tensor) -> torch.Tensor:
    return logits if logits.shape[-1] == GT_RES else F.interpolate(logits, GT_RES, mode="bilinear", align_corners=False)


def mask_losses(logits: torch.Tensor, gt: torch.Tensor, focal_weight: float = 0.0) -> torch.Tensor:
    """logits N x T x G x G, gt N x G x G -> N x T losses: BCE + dice, or with focal_weight > 0
    focal_weight x focal (alpha 0.25, gamma 2) + dice (SAM: 20 x focal + dice). From scratch
    20:1 collapsed to all-background in our first CPU run within ~100 steps (focal's pull on
    the many easy negatives); BCE + dice does not, so focal comes in once masks are learnt."""
    logits = logits.float()
    g = gt[:, None].expand_as(logits)
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, g, reduction="none")
    if focal_weight:
        pt = p * g + (1 - p) * (1 - g)
        loss = focal_weight * (ce * (1 - pt) ** 2 * (0.25 * g + 0.75 * (1 - g))).mean((2, 3))
    else:
        loss = ce.mean((2, 3))
    inter = (p * g).sum((2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((2, 3)) + g.sum((2, 3)) + 1)
    return loss + dice


def iou_of(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    pred = logits > 0
    g = gt[:, None].bool()
    inter = (pred & g).sum((2, 3)).float()
    union = (pred | g).sum((2, 3)).float()
    return inter / union.clamp(min=1)


def _assemble(first: torch.Tensor, use_box: torch.Tensor, extra_c: torch.Tensor,
              extra_l: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rows of the same length: clicks [c1, extra..., padding point], boxes [tl, br, extra...]
    (the official ONNX feed: a padding point (label -1) only when there is no box)."""
    n, dev = first.shape[0], first.device
    pad_c, pad_l = torch.zeros(n, 1, 2, device=dev), -torch.ones(n, 1, device=dev)
    click_c = torch.cat([first[:, :1], extra_c, pad_c], 1)
    click_l = torch.cat([torch.ones(n, 1, device=dev), extra_l, pad_l], 1)
    box_c = torch.cat([first, extra_c], 1)
    box_l = torch.cat([torch.tensor([[2.0, 3.0]], device=dev).expand(n, 2), extra_l], 1)
    return torch.where(use_box[:, None, None], box_c, click_c), torch.where(use_box[:, None], box_l, click_l)


def prompt_loss(sam, emb: torch.Tensor, pe: torch.Tensor, gt: torch.Tensor, gen: torch.Generator, n_extra: int,
                opts: Dict[str, float], record: Optional[Callable[[str, torch.Tensor, torch.Tensor], None]] = None
                ) -> Tuple[torch.Tensor, Dict[str, float]]:
    """emb N x 256 x g x g (the image embedding of each prompt's image), gt N x G x G {0,1}.
    opts: box_share, centre_share, iou_weight, focal_weight, box_jitter. Returns (loss, stats).
    record(stage, true_iou N x 4, use_box N), when given, is called right after each decode whose
    IoU is scored: stage "first" (the first prompt) and "refined" (after the corrective clicks)."""
    n, dev = gt.shape[0], gt.device
    use_box = torch.rand(n, generator=gen, device=dev) < opts["box_share"]
    click = first_click(gt, gen, opts["centre_share"])
    box = jittered_box(gt, gen, opts.get("box_jitter", 0.1)).view(n, 2, 2)
    first = torch.where(use_box[:, None, None], box, torch.stack([click, torch.zeros_like(click)], 1))
    extra_c, extra_l = torch.zeros(n, 0, 2, device=dev), torch.zeros(n, 0, device=dev)
    coords, labels = _assemble(first, use_box, extra_c, extra_l)
    logits, iou_pred = decode(sam, emb, pe, coords, labels)
    up = at_gt_res(logits)
    per = mask_losses(up, gt, opts["focal_weight"])
    # Single click: the best of the 3 multimask outputs (SAM's min loss); box: token 0.
    loss_mask = torch.where(use_box, per[:, 0], per[:, 1:].min(1).values).mean()
    true_iou = iou_of(up.detach(), gt)
    if record is not None:
        record("first", true_iou, use_box)
    loss_iou = F.mse_loss(iou_pred.float(), true_iou)
    loss = loss_mask + opts["iou_weight"] * loss_iou
    with torch.no_grad():
        shown = torch.where(use_box, torch.zeros(n, dtype=torch.long, device=dev), iou_pred[:, 1:].argmax(1) + 1)
        rows = torch.arange(n, device=dev)
        stats = {"l1": float(loss_mask), "l_iou": float(loss_iou), "iou1": float(true_iou[rows, shown].mean())}
    if n_extra == 0:
        return loss, stats
    # Corrective clicks on the mask an app shows (highest predicted IoU; token 0 for a box), its
    # low-res logits fed back; no gradient through the intermediate rounds.
    with torch.no_grad():
        prev = logits.detach()[rows, shown][:, None]
        prev_up = up.detach()[rows, shown]
        emb_ng = emb.detach()
        for it in range(n_extra):
            c, lab = error_click(prev_up > 0, gt, gen, opts["centre_share"])
            extra_c, extra_l = torch.cat([extra_c, c[:, None]], 1), torch.cat([extra_l, lab[:, None]], 1)
            if it == n_extra - 1:
                break
            coords, labels = _assemble(first, use_box, extra_c, extra_l)
            lg, _ = decode(sam, emb_ng, pe, coords, labels, prev)
            prev = lg[:, :1].float()
            prev_up = at_gt_res(prev)[:, 0]
    coords, labels = _assemble(first, use_box, extra_c, extra_l)
    logits, iou_pred = decode(sam, emb, pe, coords, labels, prev)
    up = at_gt_res(logits)
    per = mask_losses(up, gt, opts["focal_weight"])
    true_iou = iou_of(up.detach(), gt)
    if record is not None:
        record("refined", true_iou, use_box)
    loss_refine = per[:, 0].mean()
    loss = loss + loss_refine + opts["iou_weight"] * F.mse_loss(iou_pred.float(), true_iou)
    stats.update({"l2": float(loss_refine), "iou_refined": float(true_iou[:, 0].mean()), "n_extra": n_extra})
    return loss, stats


def train_step(sam, images: torch.Tensor, gts: torch.Tensor, pe: torch.Tensor, gen: torch.Generator, n_extra: int,
               opts: Dict[str, float]) -> Tuple[torch.Tensor, Dict[str, float]]:
    """images B x 3 x S x S, gts B x K x G x G -> (loss, stats); all B x K prompts decoded together.
    The embedding is upsampled bilinearly to pe's grid when that is finer (the exported path)."""
    b, k = gts.shape[:2]
    emb = sam.image_encoder(images)
    if pe.shape[-1] != emb.shape[-1]:
        emb = F.interpolate(emb, scale_factor=float(pe.shape[-1] // emb.shape[-1]), mode="bilinear", align_corners=False)
    rep = torch.arange(b, device=images.device).repeat_interleave(k)
    return prompt_loss(sam, emb[rep], pe, gts.flatten(0, 1).float(), gen, n_extra, opts)


# ---------------------------------------------------------------- held-out check
def heldout_check(sam, size: int, n_scenes: int, device: torch.device, only: Optional[List[str]] = None) -> Dict[str, float]:
    """evaluate.py's figures on held-out scenes HELDOUT_LOG_FIRST.. through the exported path
    (1024 input, average-pooled to the training size), in PyTorch."""
    from evaluate import TorchModel, summarise, evaluate_indices
    sam.eval()
    sam.image_encoder.input_pool = 1024 // size
    try:
        acc = evaluate_indices(TorchModel(sam=sam, device=device),
                               list(range(HELDOUT_LOG_FIRST, HELDOUT_LOG_FIRST + n_scenes)), 2)
    finally:
        sam.image_encoder.input_pool = 1
        set_mode(sam, only)
    r = summarise(acc)
    return {"heldout_" + k: r[k] for k in ("miou_1click", "miou_5click", "miou_box", "iou_pred_corr", "top_is_best")}


# ---------------------------------------------------------------- main loop
def set_mode(sam, only: Optional[List[str]]) -> None:
    """Train mode, or with --only eval mode for the frozen parts (their BatchNorm statistics
    stay) and train mode for the decoder's upscaling, whose fast path has no state."""
    if not only:
        sam.train()
        return
    sam.eval()
    for m in sam.modules():
        if isinstance(m, ConvTranspose2x2):
            m.train()


BN_SEED = 123


@torch.no_grad()
def recalibrate_bn(sam, n_scenes: int, device: torch.device, batch: int = 4) -> None:
    """Re-estimate the encoder's BatchNorm statistics (a plain average over n_scenes) on scenes
    prepared as photos are at inference: native 400-1024 px, evaluate.preprocess (resize to 1024,
    normalise, pad), average-pooled by LightEncoder.input_pool. Training updates them with a
    momentum from batches of training-size renders, which are not quite those inputs."""
    from evaluate import preprocess
    enc = sam.image_encoder
    bns = [m for m in enc.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    pool, enc.input_pool = enc.input_pool, LightEncoder.input_pool
    enc.train()
    rng = np.random.default_rng(BN_SEED)
    for _ in range(max(1, n_scenes // batch)):
        xs = []
        while len(xs) < batch:
            scene = make_scene(rng, random_size(rng, int(rng.integers(400, 1025))))
            if scene.masks:
                xs.append(torch.from_numpy(preprocess(scene.image)[0]))
        enc(torch.cat(xs).to(device))
    enc.input_pool = pool
    for m, mom in zip(bns, saved):
        m.momentum = mom


def save_atomic(obj, path: str) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_init(sam, path: str) -> None:
    """Weights from a model.pt / ckpt.pt; keys whose name or shape differ keep their fresh init,
    and are listed. Encoder blocks new to a deeper encoder start as the identity (their residual
    branch's last BatchNorm scale 0), so a grown model computes what the smaller one did."""
    sd = torch.load(path, map_location="cpu")
    sd = sd.get("model", sd)
    own = sam.state_dict()
    use = {k: v.to(own[k].dtype) for k, v in sd.items() if k in own and own[k].shape == v.shape}
    fresh = [k for k in own if k not in use]
    sam.load_state_dict(use, strict=False)
    for name, m in sam.image_encoder.named_modules():
        if isinstance(m, InvertedResidual) and f"image_encoder.{name}.dw.weight" in fresh:
            with torch.no_grad():
                m.bn2.weight.zero_()
    print(f"init from {path}: {len(use)} tensors loaded, {len(fresh)} fresh"
          + (f" ({', '.join(fresh[:8])}{' ...' if len(fresh) > 8 else ''})" if fresh else ""), flush=True)


def make_scaler(enabled: bool):
    # torch.amp.GradScaler is PyTorch >= 2.3; torch.cuda.amp.GradScaler is there in 1.13 (deprecated later).
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def bench_data(args) -> int:
    loader = scene_loader(args, 0, pin=False)
    it = iter(loader)
    next(it)  # workers started
    t0, n = time.time(), 0
    while time.time() - t0 < args.bench_data:
        x, _ = next(it)
        n += x.shape[0]
    dt = time.time() - t0
    print(json.dumps({"scenes_per_s": round(n / dt, 1), "workers": args.workers, "size": args.size,
                      "targets": args.targets, "render_max": args.render_max, "seconds": round(dt, 1)}), flush=True)
    return 0


def train(args) -> int:
    dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    use_amp = dev.type == "cuda" and not args.no_amp
    if dev.type == "cpu":
        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    if os.path.exists(ckpt_path) and not args.resume:
        print(f"{ckpt_path} exists: pass --resume to continue it, or another --out", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    config = {"dims": tuple(args.encoder_dims), "depths": tuple(args.encoder_depths)}
    if args.resume and os.path.exists(ckpt_path):  # the architecture of the run being continued
        config = LightEncoder.config_from_state_dict(torch.load(ckpt_path, map_location="cpu")["model"])
    sam = build_sam("light", encoder_config=config).train()
    tie_attention_init(sam)
    sam.image_encoder.input_pool = 1  # fed the training size directly
    sam.to(dev)
    if args.only:  # the rest frozen and in eval mode (BatchNorm running statistics, as exported)
        for name, prm in sam.named_parameters():
            prm.requires_grad_(any(name.startswith(prefix) for prefix in args.only))
    opt = torch.optim.AdamW([prm for prm in sam.parameters() if prm.requires_grad], lr=args.lr, weight_decay=0.01)
    scaler = make_scaler(use_amp)
    step, used = 0, 0.0
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        sam.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        if ck.get("scaler") and use_amp:
            scaler.load_state_dict(ck["scaler"])
        step, used = ck["step"], ck["seconds"]
        print(f"resumed from {ckpt_path}: step {step}, {used / 60:.1f} min used of {args.minutes}", flush=True)
    elif args.init:
        load_init(sam, args.init)
    clock = time.process_time if args.clock == "cpu" else time.time
    budget = args.minutes * 60
    gen = torch.Generator(device=dev).manual_seed(args.seed * 1_000_003 + step)
    grid = args.decoder_grid or args.size // 16
    pe = sam.prompt_encoder.pe_layer((grid, grid)).unsqueeze(0)
    set_mode(sam, args.only)
    opts = {"box_share": args.box_share, "centre_share": args.centre_share, "iou_weight": args.iou_weight,
            "focal_weight": 0.0, "box_jitter": args.box_jitter}
    loader = iter(scene_loader(args, step, pin=dev.type == "cuda"))
    log = open(os.path.join(args.out, "train_log.jsonl"), "a")
    log.write(json.dumps({"start": vars(args), "step": step, "device": str(dev), "amp": use_amp,
                          "torch": torch.__version__}) + "\n")
    t_start = clock() - used
    last_ckpt = last_eval = time.time()
    scenes_seen, t_wait, t_window = 0, 0.0, time.time()
    stop: List[int] = []
    handlers = {sig: signal.signal(sig, lambda *_: stop.append(1))  # kill PID / Ctrl-C: checkpoint, then exit
                for sig in (signal.SIGTERM, signal.SIGINT)}

    def checkpoint() -> None:
        save_atomic({"model": sam.state_dict(), "opt": opt.state_dict(), "scaler": scaler.state_dict() if use_amp else None,
                     "step": step, "seconds": clock() - t_start, "args": vars(args)}, ckpt_path)

    while clock() - t_start < budget and not stop:
        frac = (clock() - t_start) / budget
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for grp in opt.param_groups:
            grp["lr"] = lr
        opts["focal_weight"] = args.focal_weight if frac >= args.focal_after else 0.0
        t0 = time.time()
        images, gts = next(loader)
        images, gts = images.to(dev, non_blocking=True), gts.to(dev, non_blocking=True)
        t_data = time.time() - t0
        t_wait += t_data
        scenes_seen += images.shape[0]
        n_extra = int(torch.randint(0, args.max_extra + 1, (1,), generator=gen, device=dev))
        if use_amp:
            with torch.autocast(device_type="cuda", dtype=torch.float16):
                loss, stats = train_step(sam, images, gts, pe, gen, n_extra, opts)
        else:
            loss, stats = train_step(sam, images, gts, pe, gen, n_extra, opts)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(sam.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        step += 1
        rec = {"step": step, "min": round((clock() - t_start) / 60, 2), "lr": round(lr, 6), "loss": round(float(loss), 4),
               "s_step": round(time.time() - t0, 3), "s_data": round(t_data, 3)}
        rec.update({k: round(v, 4) for k, v in stats.items()})
        if step % 50 == 0:
            dt = time.time() - t_window
            rec.update({"scenes_per_s": round(scenes_seen / dt, 2), "data_wait_share": round(t_wait / dt, 3)})
            scenes_seen, t_wait, t_window = 0, 0.0, time.time()
        if args.eval_scenes and time.time() - last_eval > args.eval_minutes * 60:
            c0 = clock()
            rec.update(heldout_check(sam, args.size, args.eval_scenes, dev, args.only))
            last_eval = time.time()
            if args.clock == "cpu":  # a recipe's CPU budget is for training only
                t_start += clock() - c0
        log.write(json.dumps(rec) + "\n")
        log.flush()
        if step % 10 == 0 or "heldout_miou_1click" in rec:
            print(json.dumps(rec), flush=True)
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            checkpoint()
            last_ckpt = time.time()
    if args.bn_scenes and not stop:
        recalibrate_bn(sam, args.bn_scenes, dev)
        set_mode(sam, args.only)
        print(f"encoder BatchNorm statistics re-estimated on {args.bn_scenes} scenes", flush=True)
    checkpoint()
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    torch.save({k: v.cpu() for k, v in sam.state_dict().items()}, os.path.join(args.out, "model.pt"))
    print(f"{'stopped' if stop else 'done'}: {step} steps, {(clock() - t_start) / 60:.1f} min, "
          f"model in {args.out}/model.pt", flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="train.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="folder for ckpt.pt, model.pt, train_log.jsonl")
    ap.add_argument("--minutes", type=float, default=90, help="budget (the lr schedule follows it)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="budget in wall-clock minutes, or in this process's CPU minutes (fair recipe comparisons "
                         "on a shared machine)")
    ap.add_argument("--resume", action="store_true", help="continue --out/ckpt.pt (weights, optimiser, step, time used)")
    ap.add_argument("--init", help="start from these weights (model.pt or ckpt.pt) when not resuming")
    ap.add_argument("--device", default="auto", help="auto (CUDA if present, else CPU), cpu, cuda, cuda:1 ...")
    ap.add_argument("--no-amp", action="store_true", help="float32 on CUDA too")
    ap.add_argument("--size", type=int, default=256,
                    help="input size (longest side, padded square), multiple of 32; the exported encoder "
                         "average-pools its 1024 input by LightEncoder.input_pool = 1024 / size")
    ap.add_argument("--encoder-dims", type=int, nargs=4, default=[32, 64, 128, 256], metavar="C",
                    help="LightEncoder widths at strides 4/8/16/32 (a new model; --resume keeps the run's)")
    ap.add_argument("--encoder-depths", type=int, nargs=4, default=[1, 2, 3, 2], metavar="N",
                    help="LightEncoder blocks per stage (with --init from a shallower model the new blocks "
                         "start as the identity)")
    ap.add_argument("--images", type=int, default=2, help="images per step")
    ap.add_argument("--targets", type=int, default=8, help="target masks (prompt sequences) per image")
    ap.add_argument("--workers", type=int, default=1, help="scene generator processes (0: in the trainer)")
    ap.add_argument("--render-max", type=float, default=1.5,
                    help="scenes are rendered at size x U(1, this) px and box-filtered down, like a pooled photo")
    ap.add_argument("--variety", type=float, default=0.5, help="share of synth's richer training scenes")
    ap.add_argument("--max-extra", type=int, default=4, help="most corrective clicks after the first prompt")
    ap.add_argument("--box-share", type=float, default=0.4)
    ap.add_argument("--box-jitter", type=float, default=0.1, help="box side noise (x side, <= 20 px) for half the boxes")
    ap.add_argument("--centre-share", type=float, default=0.7,
                    help="share of clicks near the middle of the mask / error region (the rest uniform)")
    ap.add_argument("--iou-weight", type=float, default=10.0, help="weight of the IoU head's MSE")
    ap.add_argument("--focal-weight", type=float, default=0.0, help="> 0: focal x this + dice (SAM: 20)")
    ap.add_argument("--focal-after", type=float, default=0.0, help="focal from this share of the budget on")
    ap.add_argument("--only", nargs="+", metavar="PREFIX",
                    help="train only the parameters whose names start so (e.g. mask_decoder.iou_prediction_head); "
                         "the rest frozen, in eval mode")
    ap.add_argument("--decoder-grid", type=int, default=0,
                    help="run the decoder on this embedding grid (64: the exported path, the embedding upsampled "
                         "bilinearly as LightEncoder does); default size / 16")
    ap.add_argument("--bn-scenes", type=int, default=0,
                    help="at the end, re-estimate the encoder's BatchNorm statistics on this many scenes prepared "
                         "as evaluate.py prepares photos (--minutes 0: only that, on --init's weights)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1, help="CPU trainer threads (1 is faster than 2 on a loaded machine)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ckpt-minutes", type=float, default=5)
    ap.add_argument("--eval-minutes", type=float, default=15)
    ap.add_argument("--eval-scenes", type=int, default=24, help="held-out scenes per log check (2 masks each; 0: none)")
    ap.add_argument("--bench-data", type=float, metavar="SECONDS",
                    help="only measure the scene generator (scenes per second with --workers) for this long")
    args = ap.parse_args(argv)
    if args.size % 32:
        ap.error("--size must be a multiple of 32")
    if args.bench_data:
        return bench_data(args)
    if not args.out:
        ap.error("--out is required")
    if args.size * LightEncoder.input_pool != 1024:
        print(f"note: --size {args.size} but LightEncoder.input_pool = {LightEncoder.input_pool}: set input_pool to "
              f"{1024 // args.size} before exporting these weights", file=sys.stderr)
    return train(args)


if __name__ == "__main__":
    sys.exit(main())
