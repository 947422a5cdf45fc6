#!/usr/bin/env python3
"""Writes tests/fixtures/unet-tiny-sd1.safetensors and unet-tiny-sd2.safetensors: U-Net outputs from
diffusers' UNet2DConditionModel that engine/models/unet.c must reproduce.

The weights are not stored: `scedit make-model --arch ARCH --seed WEIGHT_SEED --layout diffusers` writes a
diffusers folder whose unet/ holds the values of sc_weight_source_new_random (WEIGHT_SEED) under diffusers
names, and the C test rebuilds the same model in-process from that random source. The inputs come from a
seeded torch generator. The reference runs in float64 (diffusers computes the sinusoidal timestep embedding in
float32 regardless, as the C code does), so the fixture measures only our own float32 rounding; the float32
PyTorch run is printed beside it for scale.

Cases, both with t = [999, 437.5] (fractional t, as k-diffusion samplers pass) and 77 context tokens:
  a: x [2, 4, 8, 8]
  b: x [2, 4, 12, 10]  (latent not a multiple of 8: upsampling matches the skips' sizes)
Tensors "<case>.x" [B, 4, H, W] (NCHW), "<case>.t" [B], "<case>.context" [B, 77, ctx], "<case>.out" [B, 4, H, W].

Run: /work/venv-ref/bin/python tests/reference/gen_unet.py [--scedit build-h5/app/scedit]
"""
import argparse
import os
import subprocess
import tempfile

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

WEIGHT_SEED = 1234
INPUT_SEED = 42
ARCHES = {"tiny-sd1": 32, "tiny-sd2": 64}  # arch → context_dim
CASES = {"a": (8, 8), "b": (12, 10)}


def main():
    root = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--scedit", default=os.path.join(root, "build", "app", "scedit"))
    args = ap.parse_args()
    torch.set_grad_enabled(False)

    for arch, ctx_dim in ARCHES.items():
        with tempfile.TemporaryDirectory() as tmp:
            folder = os.path.join(tmp, "model")
            subprocess.run([args.scedit, "make-model", "--arch", arch, "--seed", str(WEIGHT_SEED),
                            "--layout", "diffusers", "-o", folder], check=True)
            unet32, info = UNet2DConditionModel.from_pretrained(
                os.path.join(folder, "unet"), torch_dtype=torch.float32, output_loading_info=True)
        # Every parameter must come from the file: a missing one would be silently random-initialised.
        assert not any(info.values()), info
        unet32.eval()
        unet64 = UNet2DConditionModel.from_config(unet32.config)
        unet64.load_state_dict(unet32.state_dict())
        unet64.double()
        unet64.eval()

        gen = torch.Generator().manual_seed(INPUT_SEED)
        tensors = {}
        for case, (h, w) in CASES.items():
            x = torch.randn(2, 4, h, w, generator=gen, dtype=torch.float32)
            t = torch.tensor([999.0, 437.5], dtype=torch.float32)
            context = torch.randn(2, 77, ctx_dim, generator=gen, dtype=torch.float32)
            out64 = unet64(x.double(), t, encoder_hidden_states=context.double()).sample
            out32 = unet32(x, t, encoder_hidden_states=context).sample
            rel = ((out32.double() - out64).abs().max() / out64.abs().max()).item()
            print(f"{arch} case {case} {h}x{w}: max|out| {out64.abs().max().item():.4g}, "
                  f"torch float32 vs float64 max rel err {rel:.3g}")
            tensors[f"{case}.x"] = x.contiguous()
            tensors[f"{case}.t"] = t
            tensors[f"{case}.context"] = context.contiguous()
            tensors[f"{case}.out"] = out64.float().contiguous()

        out = os.path.join(root, "tests", "fixtures", f"unet-{arch}.safetensors")
        save_file(tensors, out, metadata={
            "generator": "tests/reference/gen_unet.py (diffusers UNet2DConditionModel, float64)",
            "arch": arch, "weight_seed": str(WEIGHT_SEED), "input_seed": str(INPUT_SEED),
            "cases": ",".join(CASES), "diffusers": __import__("diffusers").__version__,
            "torch": torch.__version__})
        print("wrote", os.path.relpath(out, root), os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
