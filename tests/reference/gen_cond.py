#!/usr/bin/env python3
"""Writes the condition fixtures tests/engine/test-cond.c reads (tests/fixtures/cond-*).

Inputs are synthetic and seeded (numpy default_rng, seed 1234): a "photo" with gradients, shapes
and mild noise, pure noise, a greyscale scene, text-like strokes, and tiny odd sizes. Expected
outputs come from OpenCV (cv2.Canny on the RGB uint8 array, no blur; the colour map's
INTER_CUBIC-down / INTER_NEAREST-up) and from Pillow for the hint resize (torchvision's
Resize(min(H, W)) on a PIL image is Image.resize(BILINEAR); CenterCrop pads with 0 when the crop is
larger, and rounds offsets with Python's round()).

Run: /work/venv-ref/bin/python tests/reference/gen_cond.py
"""
import os

import cv2
import numpy as np
from PIL import Image, ImageDraw

OUT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "fixtures"))
SEED = 1234


def save(name, arr):
    Image.fromarray(arr).save(os.path.join(OUT, name), optimize=True)


def photo(rng, w=96, h=80):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 128 / (w + h) + 60], -1)
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    d.ellipse((10, 8, 50, 44), fill=(220, 40, 30))
    d.rectangle((55, 30, 88, 70), fill=(20, 90, 200))
    d.polygon([(20, 75), (45, 50), (70, 78)], fill=(240, 240, 90))
    d.line((0, 0, 95, 60), fill=(10, 10, 10), width=2)
    a = np.asarray(im).astype(np.int16) + rng.integers(-6, 7, size=(h, w, 3))
    return np.clip(a, 0, 255).astype(np.uint8)


def strokes(w=80, h=64):
    im = Image.new("RGB", (w, h), (245, 240, 230))
    d = ImageDraw.Draw(im)
    d.text((4, 4), "SCEdit 42", fill=(20, 20, 20))
    d.text((6, 22), "Canny edge", fill=(120, 30, 30))
    for k in range(6):
        d.line((5 + 12 * k, 40, 12 + 10 * k, 62), fill=(30 * k, 60, 200 - 30 * k), width=1 + k % 3)
    d.arc((40, 30, 78, 62), 0, 270, fill=(0, 0, 0), width=2)
    return np.asarray(im)


def grey_scene(rng, w=96, h=80):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    g = 128 + 60 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    g[20:60, 30:34] = 250
    g[(xx - 70) ** 2 + (yy - 40) ** 2 < 150] = 15
    g += rng.normal(0, 4, size=g.shape)
    return np.clip(np.rint(g), 0, 255).astype(np.uint8)


def canny_rgb(rgb, lo, hi):
    return cv2.Canny(np.ascontiguousarray(rgb), lo, hi)


def center_crop_pad(im, ch, cw):
    w, h = im.size
    if cw > w or ch > h:
        pl, pt = (cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0
        pr, pb = (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0
        a = np.asarray(im)
        a = np.pad(a, ((pt, pb), (pl, pr), (0, 0)))
        im = Image.fromarray(a)
        w, h = im.size
        if (w, h) == (cw, ch):
            return im
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return im.crop((left, top, left + cw, top + ch))


def fit(rgb, H, W):
    """ControlInference.get_control_input: TT.Resize(min(H, W)) then TT.CenterCrop((H, W))."""
    im = Image.fromarray(rgb)
    w, h = im.size
    if (h, w) == (H, W):
        return rgb
    size = min(H, W)
    short, long_ = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long_ / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.BILINEAR)
    return np.asarray(center_crop_pad(im, H, W))


def main():
    rng = np.random.default_rng(SEED)
    inputs = {
        "photo": photo(rng),
        "noise": rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8),
        "grey": grey_scene(rng),
        "strokes": strokes(),
        "tiny7x3": rng.integers(0, 256, size=(3, 7, 3), dtype=np.uint8),
        "tall1x9": rng.integers(0, 256, size=(9, 1, 3), dtype=np.uint8),
    }
    for name, a in inputs.items():
        save(f"cond-{name}.png", a)
        rgb = np.repeat(a[:, :, None], 3, 2) if a.ndim == 2 else a
        for lo, hi in [(100, 200), (50, 120), (180, 90), (30.5, 300.7)]:
            save(f"cond-{name}-canny-{int(lo)}-{int(hi)}.png", canny_rgb(rgb, lo, hi))
        if a.ndim == 2:
            save(f"cond-{name}-canny1ch-100-200.png", cv2.Canny(a, 100, 200))

    # Colour map: cubic down to (w // cell, h // cell) (at least 1), nearest back up.
    for name in ["photo", "noise", "strokes", "tiny7x3"]:
        a = inputs[name]
        h, w = a.shape[:2]
        for cell in [64, 16, 7, 3]:
            small = cv2.resize(a, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_CUBIC)
            save(f"cond-{name}-color-{cell}.png", cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST))
            save(f"cond-{name}-color-{cell}-small.png", small)

    # Hint resize + centre crop to (H, W).
    for name, (H, W) in [("photo", (64, 64)), ("photo", (40, 72)), ("photo", (100, 120)), ("noise", (64, 96)),
                         ("noise", (33, 17)), ("strokes", (128, 100)), ("tall1x9", (4, 4))]:
        save(f"cond-{name}-fit-{H}x{W}.png", fit(inputs[name], H, W))

    # Depth: 16-bit grey ramp with a bump; expected min-max to [0, 255], rounding half up.
    yy, xx = np.mgrid[0:48, 0:64]
    d = (1000 + 600 * xx + 150 * yy + 8000 * np.exp(-((xx - 40) ** 2 + (yy - 20) ** 2) / 50.0)).astype(np.uint16)
    Image.fromarray(d).save(os.path.join(OUT, "cond-depth16.png"))
    v = d.astype(np.float64)
    exp = np.floor((v - v.min()) * 255.0 / (v.max() - v.min()) + 0.5).astype(np.uint8)
    save("cond-depth16-expected.png", exp)


if __name__ == "__main__":
    main()
