#!/usr/bin/env python3
"""Writes tests/fixtures/vae-tiny-sd1.safetensors: inputs and outputs of the tiny-sd1 VAE, computed by
diffusers' AutoencoderKL on the deterministic random weights of `scedit make-model`.

The weights are not stored: the C test (tests/engine/test-vae.c) rebuilds the same model from
sc_weight_source_new_random (WEIGHT_SEED). The reference runs in float64, so the fixture's error is ours.
Tensors are NCHW, float32:
  encode_image [2,3,64,64] in [-1,1]  -> encode_moments [2,8,8,8]   (quant_conv output: mean ‖ logvar, unclamped)
  decode_z     [2,4,8,8]              -> decode_image   [2,3,64,64] (post_quant_conv → decoder, unclamped)
  encode_image_48x80 [1,3,48,80]      -> encode_moments_48x80 [1,8,6,10]
  decode_z_6x10      [1,4,6,10]       -> decode_image_6x10    [1,3,48,80]

Run (after building the CLI): /work/venv-ref/bin/python tests/reference/gen_vae.py [--scedit build/app/scedit]
"""
import argparse
import os
import subprocess
import tempfile

import torch
from diffusers import AutoencoderKL
from safetensors import safe_open
from safetensors.torch import save_file

ARCH = "tiny-sd1"
WEIGHT_SEED = 1001
INPUT_SEED = 7


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--scedit", default=os.path.join(here, "..", "..", "build", "app", "scedit"))
    args = ap.parse_args()

    gen = torch.Generator().manual_seed(INPUT_SEED)
    images = {"": torch.rand(2, 3, 64, 64, generator=gen) * 2 - 1,
              "_48x80": torch.rand(1, 3, 48, 80, generator=gen) * 2 - 1}
    latents = {"": torch.randn(2, 4, 8, 8, generator=gen),
               "_6x10": torch.randn(1, 4, 6, 10, generator=gen)}

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, "model")
        subprocess.run([args.scedit, "make-model", "--arch", ARCH, "--seed", str(WEIGHT_SEED),
                        "--layout", "diffusers", "-o", model_dir], check=True)
        vae = AutoencoderKL.from_pretrained(os.path.join(model_dir, "vae")).double().eval()
        # Every parameter must come from the file (nothing left at diffusers' own random init).
        stored = set(safe_open(os.path.join(model_dir, "vae", "diffusion_pytorch_model.safetensors"), "pt").keys())
        assert stored == set(vae.state_dict().keys()), stored ^ set(vae.state_dict().keys())
        with torch.no_grad():
            for suffix, x in images.items():
                moments = vae.encode(x.double()).latent_dist.parameters
                out["encode_image" + suffix] = x
                out["encode_moments" + suffix] = moments.float()
            for suffix, z in latents.items():
                image = vae.decode(z.double()).sample
                out["decode_z" + suffix] = z
                out["decode_image" + suffix] = image.float()

    out = {k: v.contiguous() for k, v in out.items()}
    path = os.path.normpath(os.path.join(here, "..", "fixtures", "vae-%s.safetensors" % ARCH))
    save_file(out, path, metadata={"generator": "tests/reference/gen_vae.py", "arch": ARCH,
                                   "weight_seed": str(WEIGHT_SEED), "input_seed": str(INPUT_SEED),
                                   "reference": "diffusers %s AutoencoderKL, float64" % __import__("diffusers").__version__})
    for k, v in out.items():
        print("%-24s %-16s max|x| %.4g" % (k, list(v.shape), v.abs().max().item()))
    print("wrote", path)


if __name__ == "__main__":
    main()
