"""The embedder's pixels equal PIL's: every generated JPEG and PNG below is decoded
by the core (build/native/sam_decode_image: libjpeg-turbo, libpng) and compared
with ImageOps.exif_transpose(Image.open(f)).convert("RGB"), exactly.

JPEGs: 4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, greyscale, progressive, restart markers,
arithmetic coding, odd sizes, the eight EXIF orientations, CMYK (Adobe, as PIL
writes it). PNGs (written here, so every colour type and depth is covered): grey
1/2/4/8/16 bits, RGB 8/16, palette 1/2/4/8 with and without tRNS, grey+alpha and
RGBA 8/16, grey and RGB with tRNS, Adam7 interlaced, every row filter. The one
deliberate difference: 16-bit grey, which PIL's convert("RGB") clips to 255 and
we cut to its high byte (image_decode.h); there the expectation is that byte.
The WebAssembly app's stb_image must give the same PNG pixels."""
import io
import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[2]
TOOL = Path(os.environ.get("SAM_DECODE_IMAGE", ROOT / "build" / "native" / "sam_decode_image"))


@pytest.fixture(autouse=True)
def require_tool():
    if not TOOL.exists():
        pytest.fail(f"{TOOL} not built (scripts/test builds build/native first)", pytrace=False)


def decode(path, codec="system"):
    out = Path(str(path) + f".{codec}.rgb")
    r = subprocess.run([str(TOOL), "--codec", codec, str(path), str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    return np.fromfile(out, np.uint8).reshape(info["height"], info["width"], 3)


def pil_rgb(path):
    with Image.open(path) as im:
        return np.array(ImageOps.exif_transpose(im).convert("RGB"))


def photo(w, h, seed):
    """A smooth picture with edges and noise: JPEG's subsampling and IDCT both matter."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    g = 255 * (xx / max(w - 1, 1))
    b = np.where((xx - w / 3) ** 2 + (yy - h / 2) ** 2 < (min(w, h) / 3) ** 2, 230, 20)
    img = np.stack([r, g, b], -1) + rng.normal(0, 12, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


# ---- JPEG ------------------------------------------------------------------------------

def jpeg_cases(tmp):
    cases = {}
    img = photo(97, 61, 1)
    for name, sub in (("444", 0), ("422", 1), ("420", 2)):
        p = tmp / f"rgb_{name}.jpg"
        Image.fromarray(img).save(p, quality=90, subsampling=sub)
        cases[f"rgb {name}"] = p
    p = tmp / "grey.jpg"
    Image.fromarray(img).convert("L").save(p, quality=85)
    cases["greyscale"] = p
    p = tmp / "progressive.jpg"
    Image.fromarray(photo(160, 120, 2)).save(p, quality=80, progressive=True, subsampling=2)
    cases["progressive 4:2:0"] = p
    p = tmp / "progressive_grey.jpg"
    Image.fromarray(photo(64, 80, 3)).convert("L").save(p, quality=80, progressive=True)
    cases["progressive greyscale"] = p
    p = tmp / "cmyk.jpg"
    cmyk = np.concatenate([photo(40, 30, 4), photo(40, 30, 5)[..., :1]], -1)
    Image.fromarray(cmyk, "CMYK").save(p, quality=95)
    cases["CMYK (Adobe)"] = p
    # libjpeg-turbo's own tools: restart markers, arithmetic coding, 4:4:0 and 4:1:1.
    ppm = tmp / "src.ppm"
    Image.fromarray(photo(75, 50, 6)).save(ppm)
    for name, args in (("440", ["-sample", "1x2"]), ("411", ["-sample", "4x1"])):
        p = tmp / f"rgb_{name}.jpg"
        subprocess.run(["cjpeg", "-quality", "90", *args, "-outfile", str(p), str(ppm)], check=True)
        cases[f"rgb {name}"] = p
    for name, args in (("restart markers", ["-restart", "1"]), ("arithmetic", ["-arithmetic"]),
                       ("progressive + restart", ["-progressive", "-restart", "2"])):
        p = tmp / (name.replace(" ", "_").replace("+", "") + ".jpg")
        subprocess.run(["jpegtran", *args, "-outfile", str(p), str(cases["rgb 420"])], check=True)
        cases[name] = p
    for o in range(1, 9):
        p = tmp / f"exif_{o}.jpg"
        exif = Image.Exif()
        exif[0x0112] = o
        Image.fromarray(photo(45, 28, 10 + o)).save(p, quality=90, exif=exif.tobytes())
        cases[f"EXIF orientation {o}"] = p
    return cases


def test_jpeg_pixels_equal_pil(tmp_path):
    for tool in ("cjpeg", "jpegtran"):
        assert shutil.which(tool), f"{tool} not found (libjpeg-turbo-progs; scripts/bootstrap installs it)"
    bad = []
    for name, path in jpeg_cases(tmp_path).items():
        ours, want = decode(path), pil_rgb(path)
        if ours.shape != want.shape or not np.array_equal(ours, want):
            diff = np.abs(ours.astype(int) - want).max() if ours.shape == want.shape else f"shape {ours.shape} vs {want.shape}"
            bad.append(f"{name}: {diff}")
    assert not bad, "JPEGs whose pixels differ from PIL's: " + "; ".join(bad)


# ---- PNG -------------------------------------------------------------------------------

ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, depth):
    """samples: (h, w, c) integer array -> list of packed rows (bytes) at `depth` bits."""
    rows = []
    for row in samples.reshape(samples.shape[0], -1):
        if depth == 16:
            rows.append(row.astype(">u2").tobytes())
        elif depth == 8:
            rows.append(row.astype(np.uint8).tobytes())
        else:
            bits = np.unpackbits(row.astype(np.uint8)[:, None], axis=1)[:, 8 - depth:]
            rows.append(np.packbits(bits.reshape(-1)).tobytes())
    return rows


def filter_rows(rows, bpp, start):
    """Each row with a different PNG filter (0-4, rotating), so unfiltering is tested."""
    out, prev = b"", bytes(len(rows[0])) if rows else b""
    for i, raw in enumerate(rows):
        ftype = (start + i) % 5
        cur = bytearray()
        for x, v in enumerate(raw):
            a = raw[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 0: p = 0
            elif ftype == 1: p = a
            elif ftype == 2: p = b
            elif ftype == 3: p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else b if pb <= pc else c
            cur.append((v - p) & 0xFF)
        out += bytes([ftype]) + bytes(cur)
        prev = raw
    return out


def write_png(path, samples, colour, depth, palette=None, trns=None, interlace=False):
    h, w = samples.shape[:2]
    bpp = max(1, CHANNELS[colour] * depth // 8)
    if interlace:
        data, start = b"", 0
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.size:
                data += filter_rows(pack_rows(sub, depth), bpp, start)
                start += sub.shape[0]
    else:
        data = filter_rows(pack_rows(samples, depth), bpp, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, int(interlace)))
    if palette is not None:
        png += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def png_cases(tmp):
    rng = np.random.default_rng(7)
    w, h = 37, 23  # odd: every Adam7 pass and partial byte rows occur
    cases = {}

    def add(name, samples, colour, depth, **kw):
        for interlace in (False, True):
            p = tmp / f"{name}{'_adam7' if interlace else ''}.png"
            write_png(p, samples, colour, depth, interlace=interlace, **kw)
            cases[f"{name}{' interlaced' if interlace else ''}"] = p

    for depth in (1, 2, 4, 8, 16):
        add(f"grey{depth}", rng.integers(0, 2**depth, (h, w, 1)), 0, depth)
    add("grey8_trns", rng.integers(0, 256, (h, w, 1)), 0, 8, trns=struct.pack(">H", 7))
    for depth in (8, 16):
        add(f"rgb{depth}", rng.integers(0, 2**depth, (h, w, 3)), 2, depth)
        add(f"grey_alpha{depth}", rng.integers(0, 2**depth, (h, w, 2)), 4, depth)
        add(f"rgba{depth}", rng.integers(0, 2**depth, (h, w, 4)), 6, depth)
    add("rgb8_trns", rng.integers(0, 256, (h, w, 3)), 2, 8, trns=struct.pack(">HHH", 1, 2, 3))
    for depth in (1, 2, 4, 8):
        n = 2**depth
        pal = rng.integers(0, 256, (n, 3))
        idx = rng.integers(0, n, (h, w, 1))
        add(f"palette{depth}", idx, 3, depth, palette=pal)
        add(f"palette{depth}_trns", idx, 3, depth, palette=pal, trns=bytes(rng.integers(0, 256, n // 2 + 1).astype(np.uint8)))
    # PIL's own writer (adaptive filters, its zlib settings) too.
    for mode in ("RGB", "RGBA", "L", "LA", "P"):
        p = tmp / f"pil_{mode}.png"
        Image.fromarray(photo(w, h, 9)).convert(mode).save(p)
        cases[f"PIL-written {mode}"] = p
    return cases


def test_png_pixels_equal_pil_and_stb(tmp_path):
    bad = []
    for name, path in png_cases(tmp_path).items():
        ours = decode(path)
        with Image.open(path) as im:
            if im.mode in ("I", "I;16", "I;16B"):  # 16-bit grey: the high byte (see the docstring)
                want = np.repeat((np.array(im).astype(np.uint32) >> 8).astype(np.uint8)[..., None], 3, -1)
            else:
                want = pil_rgb(path)
        if ours.shape != want.shape or not np.array_equal(ours, want):
            bad.append(f"{name} vs PIL")
        if not np.array_equal(decode(path, "stb"), ours):
            bad.append(f"{name}: stb_image differs from libpng")
    assert not bad, "PNGs decoded wrongly: " + "; ".join(bad)


def test_16_bit_grey_is_the_high_byte_not_clipped(tmp_path):
    """The documented exception, checked on its own: PIL would give 255 here."""
    p = tmp_path / "g16.png"
    samples = np.array([[[0x0000], [0x00FF], [0x0100], [0x7F80], [0xFFFF]]], np.uint16)
    write_png(p, samples, 0, 16)
    assert decode(p)[0, :, 0].tolist() == [0, 0, 1, 0x7F, 0xFF]
    assert pil_rgb(p)[0, :, 0].tolist() == [0, 255, 255, 255, 255]  # PIL's clipping


def test_corrupt_files_are_refused_by_name(tmp_path):
    good = tmp_path / "ok.png"
    write_png(good, np.zeros((4, 4, 3), np.uint8), 2, 8)
    b = bytearray(good.read_bytes())
    b[40] ^= 0xFF  # inside IDAT: CRC mismatch
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(b))
    r = subprocess.run([str(TOOL), str(bad), str(tmp_path / "x.rgb")], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith(str(bad)) and "corrupt PNG" in r.stderr, r.stderr
    jpg = tmp_path / "cut.jpg"
    buf = io.BytesIO()
    Image.fromarray(photo(64, 64, 1)).save(buf, "JPEG")
    jpg.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    r = subprocess.run([str(TOOL), str(jpg), str(tmp_path / "x.rgb")], capture_output=True, text=True)
    assert r.returncode == 1 and "truncated JPEG" in r.stderr, r.stderr
