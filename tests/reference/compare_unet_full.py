#!/usr/bin/env python3
"""Not run in CI. Compares our full-size U-Net (sd15, sd21; random weights from `scedit make-model`) with
diffusers' UNet2DConditionModel on the same inputs, through `scedit eval unet`, and prints the max
relative error. Needs ~12 GB of RAM per architecture.

Run: /work/venv-ref/bin/python tests/reference/compare_unet_full.py [path/to/scedit] [sd15 sd21] [--res 256]
"""
import argparse
import os
import subprocess
import tempfile
import time

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file, save_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scedit", nargs="?", default=os.path.join(ROOT, "build", "app", "scedit"))
    ap.add_argument("--arch", nargs="+", default=["sd15", "sd21"])
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for arch in args.arch:
        with tempfile.TemporaryDirectory() as tmp:
            folder = os.path.join(tmp, arch)
            subprocess.run([args.scedit, "make-model", "--arch", arch, "--seed", "1", "--layout", "diffusers",
                            "-o", folder], check=True)
            unet = UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet")).eval()
            ctx_dim = unet.config.cross_attention_dim
            g = torch.Generator().manual_seed(0)
            h = args.res // 8
            x = torch.randn(2, 4, h, h, generator=g)
            t = torch.tensor([999.0, 301.5])
            context = torch.randn(2, 77, ctx_dim, generator=g)
            t0 = time.time()
            with torch.no_grad():
                ref = unet(x, t, encoder_hidden_states=context).sample
            t_ref = time.time() - t0
            inp = os.path.join(tmp, "in.safetensors")
            out = os.path.join(tmp, "out.safetensors")
            save_file({"x": x, "t": t, "context": context}, inp)
            t0 = time.time()
            subprocess.run([args.scedit, "eval", "unet", "-m", os.path.join(folder, "unet"), "--arch", arch,
                            "--in", inp, "-o", out, "--threads", str(args.threads)], check=True)
            t_ours = time.time() - t0
            ours = load_file(out)["out"]
            err = (ours - ref).abs().max().item() / ref.abs().max().item()
            print(f"{arch} U-Net at {args.res}px, batch 2: max relative error {err:.3g} "
                  f"(diffusers {t_ref:.1f} s forward; scedit eval {t_ours:.1f} s incl. loading)")


if __name__ == "__main__":
    main()
