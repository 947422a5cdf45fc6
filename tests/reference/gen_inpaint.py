#!/usr/bin/env python3
"""Writes tests/fixtures/inpaint-<arch>-<case>.safetensors: runs of diffusers' StableDiffusionInpaintPipeline
on the tiny models `scedit make-model` writes, with our Philox noise, so the C latent-masking inpainting
(engine/diffusion/inpaint.c + pipeline.c) can be compared with it before the pixel composite.

Each fixture holds the 8-bit init image [H, W, 3], the 8-bit mask [H, W] (white = repaint), the final latent
(NCHW) and the decoded image ([H, W, 3] in [0, 1]). 9-channel cases also hold conv_in_extra [C, 5, 3, 3]: the
weights for the mask and masked-image input channels appended to the tiny model's conv_in.

Conventions matched by the C side in its "nearest" latent-mask mode: the mask is binarised at 0.5 and
downsampled with F.interpolate(mode="nearest") (the pixel at each 8×8 block's top-left corner); the masked
image is init·(mask < 0.5) in [-1, 1]. Noise order: posterior of the init image (4-channel U-Net or
strength < 1), starting noise, posterior of the masked image (drawn even by 4-channel U-Nets), step noise.

Run (after building): /work/venv-ref/bin/python tests/reference/gen_inpaint.py [path/to/scedit]
"""
import os
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(__file__))
import gen_pipeline as gp  # noqa: E402  (tiny models, tokenizer, Philox stream)

import diffusers  # noqa: E402
from diffusers import AutoencoderKL, EulerAncestralDiscreteScheduler, StableDiffusionInpaintPipeline  # noqa: E402
from PIL import Image  # noqa: E402

SIZE = 64  # pixels: an 8×8 latent

CASES = [
    # arch, name, scheduler, steps, cfg, seed, prompt, strength, unet channels
    ("tiny-sd1", "ddim", "ddim", 8, 7.5, 21, "a photo of a cat", 1.0, 4),
    ("tiny-sd2", "euler-a-strength", "euler_a", 8, 5.0, 9, "a red ball", 0.75, 4),
    ("tiny-sd1", "unet9-ddim", "ddim", 6, 7.5, 4, "a photo of a dog", 1.0, 9),
]


def init_image():
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    img = np.stack([x * 4, y * 4, (x * 2 + y * 3) % 256], axis=-1).astype(np.uint8)
    img[10:30, 36:56] = [240, 200, 40]
    return img


def mask_image():
    """A disc plus a bar whose edges are not on the 8-pixel grid, with soft (grey) edge values."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    d = np.sqrt((x - 27.3) ** 2 + (y - 35.6) ** 2)
    m = np.clip((15.0 - d) * 128 + 128, 0, 255)
    m[50:61, 5:59] = 200
    return m.astype(np.uint8)


def run(scedit, tmp, case):
    arch, name, sched, steps, cfg, seed, prompt, strength, channels = case
    parts = gp.load_parts(scedit, tmp, arch, sched)
    tensors = {}
    if channels == 9:
        unet = parts["unet"]
        w = unet.conv_in.weight.detach()
        extra = (np.random.RandomState(1234).standard_normal((w.shape[0], 5, 3, 3)) * float(w.std())).astype(np.float32)
        conv = torch.nn.Conv2d(9, w.shape[0], 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(torch.cat([w, torch.from_numpy(extra)], dim=1))
            conv.bias.copy_(unet.conv_in.bias.detach())
        unet.conv_in = conv
        unet.register_to_config(in_channels=9)
        tensors["conv_in_extra"] = extra
    pipe = StableDiffusionInpaintPipeline(**parts)
    pipe.set_progress_bar_config(disable=True)
    draw = gp.philox_stream(seed)
    img, mask = init_image(), mask_image()
    saved = gp.patch_randn([sys.modules[AutoencoderKL.__module__.rsplit(".", 1)[0] + ".vae"],
                            sys.modules[StableDiffusionInpaintPipeline.__module__],
                            sys.modules[EulerAncestralDiscreteScheduler.__module__]], draw)
    try:
        with torch.no_grad():
            out = pipe(prompt, image=Image.fromarray(img), mask_image=Image.fromarray(mask, mode="L"),
                       height=SIZE, width=SIZE, strength=strength, num_inference_steps=steps, guidance_scale=cfg,
                       output_type="latent")
            final_latent = out.images
            image = pipe.vae.decode(final_latent / pipe.vae.config.scaling_factor).sample
            image = (image / 2 + 0.5).clamp(0, 1)[0].permute(1, 2, 0)
    finally:
        for m, f in saved:
            m.randn_tensor = f
    tensors.update({"latent": final_latent.float().numpy().copy(), "image": image.float().numpy().copy(),
                    "init_image": img, "mask": mask})
    meta = {"generator": "tests/reference/gen_inpaint.py", "arch": arch, "weight_seed": str(gp.WEIGHT_SEED),
            "seed": str(seed), "prompt": prompt, "negative_prompt": "", "sampler": sched, "steps": str(steps),
            "cfg": str(cfg), "width": str(SIZE), "height": str(SIZE), "strength": str(strength),
            "unet_in_channels": str(channels), "diffusers": diffusers.__version__, "torch": torch.__version__}
    path = os.path.join(gp.ROOT, "tests", "fixtures", f"inpaint-{arch}-{name}.safetensors")
    save_file(tensors, path, metadata=meta)
    print("wrote", os.path.relpath(path, gp.ROOT), "image range", float(image.min()), float(image.max()))


def main():
    torch.set_num_threads(2)
    scedit = sys.argv[1] if len(sys.argv) > 1 else os.path.join(gp.ROOT, "build", "app", "scedit")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            run(scedit, tmp, case)


if __name__ == "__main__":
    main()
