#!/usr/bin/env python3
"""Writes the image fixtures of tests/test_exif.cpp and tests/test_image_decode.cpp.

Run from the repository root:  .venv/bin/python tests/data/make_exif_fixtures.py
Everything is deterministic; tests/data/README.md says what each file is.

The picture is a 32x24 grid of 8x8 blocks of distinct flat colours, so it has
no symmetry (every one of the 8 orientations gives a different image) and its
JPEG (4:4:4, quality 95, blocks aligned with the 8x8 DCT) decodes to within a
few grey levels in any decoder. The EXIF segment is written by hand so both
TIFF byte orders (II and MM) and a non-trivial IFD0 are covered; PIL then reads
it back and its ImageOps.exif_transpose() gives the expected pixels.
"""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 32, 24


def pattern():
    rng = np.random.RandomState(7)
    img = np.zeros((H, W, 3), np.uint8)
    colours = set()
    for by in range(H // 8):
        for bx in range(W // 8):
            while True:  # distinct, well separated colours
                c = tuple(int(v) for v in rng.choice([16, 80, 144, 208, 240], 3))
                if c not in colours:
                    break
            colours.add(c)
            img[by * 8:(by + 1) * 8, bx * 8:(bx + 1) * 8] = c
    return img


def tiff_ifd0(orientation, order):
    """A TIFF header + IFD0 with Make (ASCII, stored out of line), XResolution
    (RATIONAL, out of line), Orientation (SHORT) and ResolutionUnit, in the
    given byte order ('<' = II, '>' = MM)."""
    head = (b"II*\0" if order == "<" else b"MM\0*") + struct.pack(order + "I", 8)
    entries = 4
    ifd_size = 2 + entries * 12 + 4
    data_off = 8 + ifd_size
    make = b"SAMtest\0"
    xres_off = data_off + len(make)
    ifd = struct.pack(order + "H", entries)
    ifd += struct.pack(order + "HHII", 0x010F, 2, len(make), data_off)           # Make
    ifd += struct.pack(order + "HHII", 0x011A, 5, 1, xres_off)                   # XResolution
    ifd += struct.pack(order + "HHI", 0x0112, 3, 1) + struct.pack(order + "HH", orientation, 0)
    ifd += struct.pack(order + "HHI", 0x0128, 3, 1) + struct.pack(order + "HH", 2, 0)  # ResolutionUnit
    ifd += struct.pack(order + "I", 0)                                            # no IFD1
    tail = make + struct.pack(order + "II", 72, 1)
    return head + ifd + tail


def save_npy(name, arr):
    np.save(os.path.join(HERE, name), np.ascontiguousarray(arr))


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def main():
    img = Image.fromarray(pattern(), "RGB")
    img.save(os.path.join(HERE, "pattern.png"))
    save_npy("pattern_expected.npy", pattern())

    for orientation in range(1, 9):
        expected = None
        for order, tag in (("<", "ii"), (">", "mm")):
            exif = b"Exif\0\0" + tiff_ifd0(orientation, order)
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=95, subsampling=0, exif=exif)
            path = os.path.join(HERE, "orient_%d_%s.jpg" % (orientation, tag))
            with open(path, "wb") as f:
                f.write(buf.getvalue())
            im = Image.open(path)
            assert im.getexif().get(0x0112) == orientation, (path, im.getexif())
            out = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
            if expected is None:
                expected = out
            assert np.array_equal(expected, out)  # same JPEG data in both byte orders
        save_npy("orient_%d_expected.npy" % orientation, expected)

    # A JPEG cut in the middle of its entropy-coded data.
    with open(os.path.join(HERE, "orient_1_ii.jpg"), "rb") as f:
        jpeg = f.read()
    with open(os.path.join(HERE, "truncated.jpg"), "wb") as f:
        f.write(jpeg[: len(jpeg) - 200])

    grey = Image.fromarray(pattern()[:, :, 1], "L")
    grey.save(os.path.join(HERE, "grey.png"))
    save_npy("grey_expected.npy", np.asarray(grey.convert("RGB")))
    rgba = np.dstack([pattern(), (np.arange(W)[None, :] * 8 + np.zeros((H, 1))).astype(np.uint8)])
    Image.fromarray(rgba, "RGBA").save(os.path.join(HERE, "rgba.png"))
    save_npy("rgba_expected.npy", np.asarray(Image.open(os.path.join(HERE, "rgba.png")).convert("RGB")))
    img.save(os.path.join(HERE, "pattern.bmp"))
    img.save(os.path.join(HERE, "pattern.gif"))
    save_npy("gif_expected.npy", np.asarray(Image.open(os.path.join(HERE, "pattern.gif")).convert("RGB")))

    # A PNG whose IHDR claims 20000x20000 RGB and that has no pixel data: a
    # decoder must refuse it from the header alone.
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    with open(os.path.join(HERE, "huge_header.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b""))

    with open(os.path.join(HERE, "not_an_image.txt"), "w") as f:
        f.write("This is a text file, not an image.\n")


if __name__ == "__main__":
    main()
