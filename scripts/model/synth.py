"""Procedural training / evaluation scenes with exact ground-truth masks.

    from synth import make_scene, heldout_scene
    s = make_scene(np.random.default_rng(0), (384, 512))  # s.image H x W x 3 uint8
    s.masks[i]  H x W bool (visible pixels), s.levels[i] 0 whole / 1 part / 2 sub-part,
    s.groups[i] the object a mask belongs to (masks of one object nest: sub-part < part < whole)

Scenes: a textured background and 3-12 occluding objects (polygons, ellipses, smooth
blobs, thin curves, rings, objects with holes, objects made of parts with a sub-part,
so that one click is ambiguous), filled with flat colours, gradients, stripes,
checks, smooth noise or patches of CC0 / public-domain photographs shipped with
python3-skimage (see PHOTOS), then lighting, blur, noise and JPEG artefacts.
heldout_scene(i) is the fixed held-out set: a native size, resized as the embedder does.
make_scene(..., variety=True) draws richer training-only scenes (the held-out set never
changes): more photographs (PHOTOS_TRAINING), untinted photo fills and backgrounds,
up to 20 objects with more small clutter, rounded boxes and stars, and cast shadows that
darken what lies behind without belonging to any mask.
"""
import io
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"
# Photographs used as textures, with the licence stated in skimage/data/_fetchers.py.
# The demo's sample photos (astronaut, coffee, chelsea, rocket) are deliberately not used.
PHOTOS = {
    "grass.png": "CC0 (linolafett, DeviantArt)",
    "gravel.png": "CC0 (CC0Textures Gravel04)",
    "brick.png": "CC0 (CC0Textures Bricks25)",
    "camera.png": "CC0 (Lav Varshney)",
    "retina.jpg": "CC0 (Wikimedia Commons)",
    "hubble_deep_field.jpg": "public domain (NASA)",
    "coins.png": "no known copyright restrictions (Brooklyn Museum)",
}
# Only in variety scenes (training), so that the held-out set stays what it was.
PHOTOS_TRAINING = {
    "clock_motion.png": "public domain (Stefan van der Walt)",
    "ihc.png": "no known copyright restrictions",
    "cell.png": "CC0 (Allen Institute for Cell Science)",
    "microaneurysms.png": "CC0 (Andreas Maier)",
    "text.png": "public domain",
}
HELDOUT_SEED = 7_000_000
MIN_AREA_FRACTION = 0.0015

_photos: Dict[str, List[np.ndarray]] = {}


def _load_photos(training: bool = False) -> List[np.ndarray]:
    key = "training" if training else "base"
    if key not in _photos:
        names = list(PHOTOS) + (list(PHOTOS_TRAINING) if training else [])
        paths = [os.path.join(SKIMAGE_DATA, n) for n in names]
        _photos[key] = [np.asarray(Image.open(p).convert("RGB")) for p in paths if os.path.exists(p)]
    return _photos[key]


@dataclass
class Scene:
    image: np.ndarray  # H x W x 3 uint8
    masks: List[np.ndarray] = field(default_factory=list)  # H x W bool
    levels: List[int] = field(default_factory=list)
    groups: List[int] = field(default_factory=list)


# ---------------------------------------------------------------- textures
def _color(rng) -> np.ndarray:
    return rng.uniform(0, 255, 3)


def _texture(rng, h: int, w: int) -> np.ndarray:
    """h x w x 3 float32 in 0..255."""
    kind = rng.choice(["flat", "gradient", "stripes", "checker", "noise", "photo", "photo"])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c1, c2 = _color(rng), _color(rng)
    if kind == "flat":
        t = np.zeros((h, w, 1), np.float32)
    elif kind == "gradient":
        a = rng.uniform(0, 2 * np.pi)
        p = np.cos(a) * xx + np.sin(a) * yy
        t = ((p - p.min()) / max(float(np.ptp(p)), 1.0))[..., None]
    elif kind == "stripes":
        a = rng.uniform(0, np.pi)
        period = rng.uniform(4, 40)
        p = np.cos(a) * xx + np.sin(a) * yy
        s = 0.5 + 0.5 * np.sin(2 * np.pi * p / period)
        t = (s > 0.5).astype(np.float32)[..., None] if rng.random() < 0.5 else s[..., None]
    elif kind == "checker":
        cell = rng.uniform(4, 32)
        t = (((xx // cell) + (yy // cell)) % 2).astype(np.float32)[..., None]
    elif kind == "noise":
        gh, gw = max(2, h // int(rng.integers(4, 32))), max(2, w // int(rng.integers(4, 32)))
        g = rng.random((gh, gw)).astype(np.float32)
        t = np.asarray(Image.fromarray((g * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), np.float32)[..., None] / 255
    else:
        photos = _load_photos()
        if not photos:
            return _texture(rng, h, w)
        p = photos[int(rng.integers(len(photos)))]
        scale = rng.uniform(0.3, 1.5)
        ph, pw = max(8, int(h / scale)), max(8, int(w / scale))
        ph, pw = min(ph, p.shape[0]), min(pw, p.shape[1])
        y0, x0 = int(rng.integers(0, p.shape[0] - ph + 1)), int(rng.integers(0, p.shape[1] - pw + 1))
        crop = Image.fromarray(p[y0:y0 + ph, x0:x0 + pw]).resize((w, h), Image.BILINEAR)
        arr = np.asarray(crop, np.float32)
        if rng.random() < 0.5:
            arr = arr[:, ::-1]
        if rng.random() < 0.6:  # tint: map luminance between two colours
            lum = arr.mean(-1, keepdims=True) / 255
            return (c1 * (1 - lum) + c2 * lum).astype(np.float32)
        return arr
    out = c1 * (1 - t) + c2 * t
    if rng.random() < 0.5:  # shading across the region
        a = rng.uniform(0, 2 * np.pi)
        p = np.cos(a) * xx + np.sin(a) * yy
        p = (p - p.min()) / max(float(np.ptp(p)), 1.0)
        out = out * (1 + rng.uniform(-0.4, 0.4) * (p[..., None] - 0.5))
    return out.astype(np.float32)


def _texture_training(rng, h: int, w: int) -> np.ndarray:
    """Variety scenes: half of the fills an untinted crop of any photograph, else _texture."""
    photos = _load_photos(training=True)
    if not photos or rng.random() < 0.5:
        return _texture(rng, h, w)
    p = photos[int(rng.integers(len(photos)))]
    scale = float(np.exp(rng.uniform(np.log(0.25), np.log(2.0))))
    ph, pw = min(max(8, int(h / scale)), p.shape[0]), min(max(8, int(w / scale)), p.shape[1])
    y0, x0 = int(rng.integers(0, p.shape[0] - ph + 1)), int(rng.integers(0, p.shape[1] - pw + 1))
    arr = np.asarray(Image.fromarray(p[y0:y0 + ph, x0:x0 + pw]).resize((w, h), Image.BILINEAR), np.float32)
    if rng.random() < 0.5:
        arr = arr[::-1] if rng.random() < 0.5 else arr[:, ::-1]
    gain = rng.uniform(0.6, 1.4, 3) if rng.random() < 0.5 else np.ones(3)  # colour cast / brightness
    return (arr * gain).astype(np.float32)


# ---------------------------------------------------------------- shapes
def _outline(rng, kind: str, cx: float, cy: float, r: float, aspect: float, rot: float) -> List[Tuple[float, float]]:
    n = 64
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    if kind == "polygon":
        k = int(rng.integers(3, 9))
        th = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.6, 1.0, k)
    elif kind == "ellipse":
        rad = np.full(n, r)
    else:  # smooth blob
        rad = np.full(n, 1.0)
        for f in range(1, 5):
            rad += rng.uniform(0, 0.35 / f) * np.cos(f * th + rng.uniform(0, 2 * np.pi))
        rad = r * rad / rad.max()
    x, y = rad * np.cos(th) * aspect, rad * np.sin(th) / aspect
    c, s = np.cos(rot), np.sin(rot)
    return list(zip(cx + c * x - s * y, cy + s * x + c * y))


def _draw(h: int, w: int, fn) -> np.ndarray:
    im = Image.new("L", (w, h), 0)
    fn(ImageDraw.Draw(im))
    return np.asarray(im) > 0


def _shape_mask(rng, h: int, w: int, cx: float, cy: float, r: float, kind: Optional[str] = None) -> np.ndarray:
    kind = kind or rng.choice(["polygon", "ellipse", "blob", "blob", "thin", "ring"])
    aspect = float(np.exp(rng.uniform(-0.6, 0.6)))
    rot = rng.uniform(0, np.pi)
    if kind == "thin":  # a thick polyline / curve
        k = int(rng.integers(2, 6))
        pts = [(cx + rng.uniform(-r, r), cy + rng.uniform(-r, r)) for _ in range(k)]
        width = int(max(2, r * rng.uniform(0.05, 0.2)))
        return _draw(h, w, lambda d: d.line(pts, fill=255, width=width, joint="curve"))
    if kind == "ring":
        outer = _outline(rng, "ellipse" if rng.random() < 0.5 else "blob", cx, cy, r, aspect, rot)
        t = rng.uniform(0.45, 0.8)
        inner = [(cx + (x - cx) * t, cy + (y - cy) * t) for x, y in outer]
        return _draw(h, w, lambda d: d.polygon(outer, fill=255)) & ~_draw(h, w, lambda d: d.polygon(inner, fill=255))
    pts = _outline(rng, kind, cx, cy, r, aspect, rot)
    m = _draw(h, w, lambda d: d.polygon(pts, fill=255))
    if rng.random() < 0.15:  # a hole that shows what lies behind
        hr = r * rng.uniform(0.15, 0.35)
        hole = _outline(rng, "blob", cx + rng.uniform(-0.3, 0.3) * r, cy + rng.uniform(-0.3, 0.3) * r, hr, 1.0, 0.0)
        m &= ~_draw(h, w, lambda d: d.polygon(hole, fill=255))
    return m


def _shape_mask_training(rng, h: int, w: int, cx: float, cy: float, r: float, kind: Optional[str] = None) -> np.ndarray:
    """Variety scenes: also rounded boxes (screens, books, boxes) and stars; else _shape_mask."""
    if kind is not None or rng.random() < 0.6:
        return _shape_mask(rng, h, w, cx, cy, r, kind)
    rot = rng.uniform(0, np.pi)
    c, s = np.cos(rot), np.sin(rot)
    if rng.random() < 0.7:  # superellipse: from a rounded box to a rectangle
        aspect = float(np.exp(rng.uniform(-0.8, 0.8)))
        e = rng.uniform(0.15, 0.6)
        th = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        x = r * aspect * np.sign(np.cos(th)) * np.abs(np.cos(th)) ** e
        y = r / aspect * np.sign(np.sin(th)) * np.abs(np.sin(th)) ** e
    else:  # star
        k = int(rng.integers(4, 9))
        th = np.linspace(0, 2 * np.pi, 2 * k, endpoint=False) + rng.uniform(0, np.pi)
        rad = np.where(np.arange(2 * k) % 2 == 0, r, r * rng.uniform(0.35, 0.7))
        x, y = rad * np.cos(th), rad * np.sin(th)
    pts = list(zip(cx + c * x - s * y, cy + s * x + c * y))
    return _draw(h, w, lambda d: d.polygon(pts, fill=255))


def _shadow(img: np.ndarray, mask: np.ndarray, rng, side: int) -> None:
    """Darken a blurred, shifted copy of mask on img (cast before the object is painted)."""
    dy, dx = (rng.uniform(-0.04, 0.04, 2) * side).astype(int)
    m = np.roll(np.roll(mask.astype(np.float32), dy, 0), dx, 1)
    m = np.asarray(Image.fromarray((m * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(1, 0.03 * side + 1))),
                   np.float32) / 255
    img *= (1 - rng.uniform(0.25, 0.6) * m)[..., None]


def _paint(img: np.ndarray, mask: np.ndarray, rng, texture: Callable = _texture) -> None:
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    tex = texture(rng, int(y1 - y0), int(x1 - x0))
    sub = mask[y0:y1, x0:x1]
    img[y0:y1, x0:x1][sub] = tex[sub]


# ---------------------------------------------------------------- scenes
def make_scene(rng: np.random.Generator, size: Tuple[int, int], max_objects: int = 12, variety: bool = False) -> Scene:
    """A scene of size (h, w) with its visible ground-truth masks; variety: a richer training
    scene (see the module doc; variety=False draws exactly what it always drew)."""
    h, w = size
    tex = _texture_training if variety else _texture
    shape = _shape_mask_training if variety else _shape_mask
    img = tex(rng, h, w)
    objects = []  # (list of (mask, level), group)
    n = int(rng.integers(4, (max(max_objects, 20) if variety else max_objects) + 1))
    side = min(h, w)
    r_min = 0.025 if variety else 0.04
    for g in range(n):
        r = side * float(np.exp(rng.uniform(np.log(r_min), np.log(0.4))))
        cx, cy = rng.uniform(0.0, 1.0) * w, rng.uniform(0.0, 1.0) * h
        if rng.random() < 0.3:  # an object made of parts, one with a sub-part
            parts = [shape(rng, h, w, cx, cy, r, rng.choice(["ellipse", "blob", "polygon"]))]
            for _ in range(int(rng.integers(1, 3))):
                a = rng.uniform(0, 2 * np.pi)
                pr = r * rng.uniform(0.35, 0.7)
                parts.append(_shape_mask(rng, h, w, cx + np.cos(a) * r * 0.9, cy + np.sin(a) * r * 0.9, pr,
                                         rng.choice(["ellipse", "blob", "polygon", "thin"])))
            for i in range(1, len(parts)):
                parts[i] &= ~np.logical_or.reduce(parts[:i])
            whole = np.logical_or.reduce(parts)
            host = int(np.argmax([p.sum() for p in parts]))
            ys, xs = np.nonzero(parts[host])
            entries = []
            if len(ys):
                k = int(rng.integers(len(ys)))
                sub = _shape_mask(rng, h, w, xs[k], ys[k], r * rng.uniform(0.15, 0.3),
                                  rng.choice(["ellipse", "blob", "polygon"])) & parts[host]
                if variety and rng.random() < 0.3:
                    _shadow(img, whole, rng, side)
                for p in parts:
                    _paint(img, p, rng, tex)
                _paint(img, sub, rng, tex)
                entries = [(whole, 0)] + [(p, 1) for p in parts] + [(sub, 2)]
            objects.append((entries, g))
        else:
            m = shape(rng, h, w, cx, cy, r)
            if variety and rng.random() < 0.3:
                _shadow(img, m, rng, side)
            _paint(img, m, rng, tex)
            objects.append(([(m, 0)], g))
    # Occlusion: what later objects cover is not visible in earlier ones.
    covered = np.zeros((h, w), bool)
    scene = Scene(image=img)
    min_area = max(30, MIN_AREA_FRACTION * h * w)
    for entries, g in reversed(objects):
        if not entries:
            continue
        whole = entries[0][0]
        for m, level in entries:
            vis = m & ~covered
            if vis.sum() >= min_area and (level == 0 or vis.sum() < 0.97 * (whole & ~covered).sum()):
                scene.masks.append(vis)
                scene.levels.append(level)
                scene.groups.append(g)
        covered |= whole
    scene.image = _finish(rng, img)
    return scene


def _finish(rng, img: np.ndarray) -> np.ndarray:
    h, w, _ = img.shape
    if rng.random() < 0.7:  # lighting gradient over the whole picture
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = rng.uniform(0, 2 * np.pi)
        p = np.cos(a) * xx / w + np.sin(a) * yy / h
        img = img * (1 + rng.uniform(-0.5, 0.5) * (p - p.mean()))[..., None]
    if rng.random() < 0.5:
        img = img + rng.normal(0, rng.uniform(1, 12), img.shape)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.8)))
    if rng.random() < 0.5:
        buf = io.BytesIO()
        out.save(buf, format="JPEG", quality=int(rng.integers(25, 95)))
        out = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return np.asarray(out)


def random_size(rng, longest: int) -> Tuple[int, int]:
    """(h, w) with the given longest side and an aspect ratio in [1/2, 2]."""
    short = int(round(longest * rng.uniform(0.5, 1.0)))
    return (short, longest) if rng.random() < 0.5 else (longest, short)


def heldout_scene(index: int) -> Scene:
    """Held-out scene `index`: native size with longest side 400-1024 (as photos come),
    fixed seed; the embedder's resize to 1024 is done by the evaluator."""
    rng = np.random.default_rng(HELDOUT_SEED + index)
    longest = int(rng.integers(400, 1025))
    return make_scene(rng, random_size(rng, longest))
