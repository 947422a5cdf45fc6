#!/usr/bin/env python3
"""Writes the small image fixtures tests/engine/test-image.c reads (tests/fixtures/img-*).

Deterministic (no randomness). Pillow writes the JPEGs (EXIF orientation 1..8: odd ones with a
big-endian "MM" TIFF header, even ones little-endian "II"), the palette, grey+alpha, 1-bit and text
PNGs; Pillow cannot write Adam7, so the interlaced PNGs come from the small PNG writer below.
The pixel formulas are repeated in test-image.c; keep them in step.

Run: /work/venv-ref/bin/python tests/reference/gen_images.py
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

OUT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "fixtures"))


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_png_adam7(path, pixels, color_type, depth):
    """pixels: [H, W, C] uint8/uint16 array; writes an Adam7-interlaced PNG, filter 0 on every row."""
    h, w = pixels.shape[:2]
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    dtype = ">u2" if depth == 16 else "u1"
    for x0, y0, dx, dy in passes:
        sub = pixels[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue  # an empty pass has no rows at all
        for row in sub:
            raw += b"\x00" + row.astype(dtype).tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def exif_orientation(o, big_endian):
    """APP1 payload with IFD0 = {Make: "Abc", Orientation: o}."""
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", 2)
    tiff += struct.pack(e + "HHI", 0x010F, 2, 4) + b"Abc\x00"          # Make, ASCII, inline
    tiff += struct.pack(e + "HHIH", 0x0112, 3, 1, o) + b"\x00\x00"     # Orientation, SHORT
    tiff += struct.pack(e + "I", 0)
    return b"Exif\x00\x00" + tiff


# How exif_transpose maps stored → displayed, and the inverse we apply to make the stored image.
INVERSE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
           7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
QUADRANTS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]  # TL, TR, BL, BR


def jpegs():
    w, h = 16, 8
    disp = np.zeros((h, w, 3), np.uint8)
    disp[: h // 2, : w // 2] = QUADRANTS[0]
    disp[: h // 2, w // 2:] = QUADRANTS[1]
    disp[h // 2:, : w // 2] = QUADRANTS[2]
    disp[h // 2:, w // 2:] = QUADRANTS[3]
    shown = Image.fromarray(disp)
    for o in range(1, 9):
        stored = shown if INVERSE[o] is None else shown.transpose(INVERSE[o])
        path = os.path.join(OUT, f"img-orient{o}.jpg")
        stored.save(path, quality=95, subsampling=0, exif=exif_orientation(o, o % 2 == 1))
        # Check with Pillow's own reading that the file displays as `disp`.
        back = Image.open(path)
        assert back.getexif().get(0x0112) == o
        back = np.asarray(ImageOps.exif_transpose(back).convert("RGB")).astype(int)
        assert back.shape == disp.shape and np.abs(back[[0, 0, -1, -1], [0, -1, 0, -1]] - disp[[0, 0, -1, -1], [0, -1, 0, -1]]).max() < 40


def pngs():
    # Palette, 4 colours → Pillow picks 2 bits per pixel. index = (x + 2y) % 4, 5×3.
    pal = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]
    idx = np.array([[(x + 2 * y) % 4 for x in range(5)] for y in range(3)], np.uint8)
    im = Image.fromarray(idx, "P")
    im.putpalette(pal)
    im.save(os.path.join(OUT, "img-palette.png"), bits=2)
    im.save(os.path.join(OUT, "img-palette-trns.png"), transparency=3)  # entry 3 fully transparent

    # Grey + alpha, 4×3: g = 60x + 10y, a = 255 - 50x - 20y.
    ga = np.array([[[60 * x + 10 * y, 255 - 50 * x - 20 * y] for x in range(4)] for y in range(3)], np.uint8)
    Image.fromarray(ga, "LA").save(os.path.join(OUT, "img-grey-alpha.png"))

    # 1-bit grey, 10×2: white where (x + y) % 3 == 0.
    g1 = np.array([[(x + y) % 3 == 0 for x in range(10)] for y in range(2)], bool)
    Image.fromarray(g1).convert("1").save(os.path.join(OUT, "img-grey1.png"))

    # Adam7, RGB 8-bit, 9×7.
    rgb = np.array([[[(37 * x + 91 * y) & 255, (11 * x + 29 * y + 60) & 255, (x * x + 7 * y) & 255]
                     for x in range(9)] for y in range(7)], np.uint8)
    write_png_adam7(os.path.join(OUT, "img-interlaced.png"), rgb, 2, 8)
    # Adam7, RGBA 16-bit, 5×5: v = (12345x + 4321y + 999c) & 0xffff.
    rgba16 = np.array([[[(12345 * x + 4321 * y + 999 * c) & 0xFFFF for c in range(4)]
                        for x in range(5)] for y in range(5)], np.uint16)
    write_png_adam7(os.path.join(OUT, "img-interlaced16.png"), rgba16, 6, 16)
    for name, want in (("img-interlaced.png", rgb), ("img-interlaced16.png", rgba16)):
        got = np.asarray(Image.open(os.path.join(OUT, name)))
        if want.dtype == np.uint16:
            continue  # Pillow reduces RGBA16 to 8 bits; checked by the C test instead
        assert (got == want).all(), name

    # Text written by a foreign writer: tEXt (Latin-1), zTXt and compressed iTXt.
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "caf\xe9")                       # tEXt, Latin-1 é
    info.add_text("Zipped", "hello " * 40, zip=True)        # zTXt
    info.add_itxt("Prompt", "猫 " * 30, zip=True)           # compressed iTXt
    Image.new("L", (2, 2), 7).save(os.path.join(OUT, "img-text.png"), pnginfo=info)


def main():
    os.makedirs(OUT, exist_ok=True)
    jpegs()
    pngs()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.startswith("img-"))
    print(f"wrote image fixtures to {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
