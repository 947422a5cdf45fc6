#!/usr/bin/env python3
"""Writes tests/fixtures/pipeline-<arch>-<case>.safetensors: whole text-to-image runs of diffusers'
StableDiffusionPipeline on the tiny models our own `scedit make-model` writes, started from our Philox
noise, so the C pipeline (engine/diffusion/pipeline.c) can be compared with it end to end.

Each fixture holds the final latent (NCHW) and the decoded image ([H, W, 3] in [0, 1], before 8-bit
rounding); its metadata names the model arch, weight seed, prompt, sampler and settings.

Run (after building): /work/venv-ref/bin/python tests/reference/gen_pipeline.py [path/to/scedit]
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(__file__))
import gen_philox  # noqa: E402  (the numpy Philox the C RNG is tested against)

import diffusers  # noqa: E402
from diffusers import (AutoencoderKL, DDIMScheduler, DPMSolverMultistepScheduler,  # noqa: E402
                       EulerAncestralDiscreteScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionPipeline,
                       UNet2DConditionModel)
from PIL import Image  # noqa: E402
from transformers import CLIPTextModel, CLIPTokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
WEIGHT_SEED = 3
SIZE = 128  # pixels: a 16×16 latent

CASES = [
    # arch, name, scheduler, steps, cfg, rescale, seed, prompt, negative
    ("tiny-sd1", "ddim", "ddim", 8, 7.5, 0.0, 42, "a photo of a cat", ""),
    ("tiny-sd2", "ddim", "ddim", 8, 7.5, 0.0, 42, "a photo of a cat", ""),
    ("tiny-sd1", "euler-a-rescale", "euler_a", 8, 5.0, 0.7, 7, "a lovely cat", "blurry"),
    ("tiny-sd2", "dpmpp-2m", "dpmpp_2m", 8, 7.5, 0.0, 11, "a photograph of an astronaut riding a horse", ""),
]
# img2img: arch, name, scheduler, steps, cfg, seed, prompt, strength
IMG2IMG_CASES = [
    ("tiny-sd1", "img2img-ddim", "ddim", 8, 7.5, 5, "a photo of a cat", 0.6),
]


def init_image():
    """A deterministic 8-bit RGB picture: smooth gradients plus a square, so every channel varies."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    img = np.stack([x * 2, y * 2, (x + y) % 256], axis=-1).astype(np.uint8)
    img[40:80, 40:80] = [250, 30, 60]
    return img


def patch_randn(modules, draw):
    saved = [(m, m.randn_tensor) for m in modules]
    for m in modules:
        m.randn_tensor = lambda shape, generator=None, device=None, dtype=None, **kw: draw(tuple(shape)).to(dtype or torch.float32)
    return saved


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_hf_tokenizer(folder):
    """vocab.json + merges.txt derived from OpenAI's BPE file, laid out as HF's CLIPTokenizer expects."""
    with gzip.open(os.path.join(SHARED, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz"), "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = lines[1:49152 - 256 - 2 + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")


def philox_stream(seed):
    """Successive draws of our Philox generator, as the C engine makes them (offset +1 per draw)."""
    state = {"offset": 0}

    def draw(shape):
        n = int(np.prod(shape))
        v = gen_philox.randn(seed, state["offset"], n).reshape(shape)
        state["offset"] += 1
        return torch.from_numpy(v.copy())
    return draw


def make_scheduler(kind, folder):
    cfg = os.path.join(folder, "scheduler")
    if kind == "ddim":
        return DDIMScheduler.from_pretrained(cfg)
    if kind == "euler_a":
        return EulerAncestralDiscreteScheduler.from_pretrained(cfg)
    return DPMSolverMultistepScheduler.from_pretrained(cfg, algorithm_type="dpmsolver++", solver_order=2)


def load_parts(scedit, tmp, arch, sched):
    folder = os.path.join(tmp, arch)
    if not os.path.exists(folder):
        subprocess.run([scedit, "make-model", "--arch", arch, "--seed", str(WEIGHT_SEED), "--layout", "diffusers",
                        "-o", folder], check=True)
        write_hf_tokenizer(os.path.join(folder, "tokenizer"))
    tok = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer"), model_max_length=77)
    if arch.endswith("sd2"):
        tok.pad_token = "!"  # SD2 pads with id 0 (open_clip)
    return dict(vae=AutoencoderKL.from_pretrained(os.path.join(folder, "vae")),
                text_encoder=CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder")),
                tokenizer=tok,
                unet=UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet")),
                scheduler=make_scheduler(sched, folder),
                safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def run_case(scedit, tmp, case):
    arch, name, sched, steps, cfg, rescale, seed, prompt, negative = case
    pipe = StableDiffusionPipeline(**load_parts(scedit, tmp, arch, sched))
    pipe.set_progress_bar_config(disable=True)
    draw = philox_stream(seed)
    h = w = SIZE // 8
    latents = draw((1, 4, h, w))
    # Per-step noise of the ancestral sampler comes from the same stream, in the same order as in C.
    mod = sys.modules[EulerAncestralDiscreteScheduler.__module__]
    original = mod.randn_tensor
    mod.randn_tensor = lambda shape, generator=None, device=None, dtype=None, **kw: draw(tuple(shape)).to(dtype or torch.float32)
    try:
        with torch.no_grad():
            out = pipe(prompt, negative_prompt=negative, height=SIZE, width=SIZE, num_inference_steps=steps,
                       guidance_scale=cfg, guidance_rescale=rescale, latents=latents.clone(), output_type="latent")
            final_latent = out.images
            image = pipe.vae.decode(final_latent / pipe.vae.config.scaling_factor).sample
            image = (image / 2 + 0.5).clamp(0, 1)[0].permute(1, 2, 0)
    finally:
        mod.randn_tensor = original
    tensors = {"latent": final_latent.float().numpy().copy(), "image": image.float().numpy().copy()}
    meta = {"generator": "tests/reference/gen_pipeline.py", "arch": arch, "weight_seed": str(WEIGHT_SEED),
            "seed": str(seed), "prompt": prompt, "negative_prompt": negative, "sampler": sched, "steps": str(steps),
            "cfg": str(cfg), "rescale": str(rescale), "width": str(SIZE), "height": str(SIZE),
            "diffusers": diffusers.__version__, "torch": torch.__version__}
    path = os.path.join(ROOT, "tests", "fixtures", f"pipeline-{arch}-{name}.safetensors")
    save_file(tensors, path, metadata=meta)
    print("wrote", os.path.relpath(path, ROOT), "image range", float(image.min()), float(image.max()))


def run_img2img(scedit, tmp, case):
    """Noise order as in C: the VAE posterior sample draws first, then the sampler's start noise."""
    arch, name, sched, steps, cfg, seed, prompt, strength = case
    pipe = StableDiffusionImg2ImgPipeline(**load_parts(scedit, tmp, arch, sched))
    pipe.set_progress_bar_config(disable=True)
    draw = philox_stream(seed)
    img = init_image()
    saved = patch_randn([sys.modules[AutoencoderKL.__module__.rsplit(".", 1)[0] + ".vae"],
                         sys.modules[StableDiffusionImg2ImgPipeline.__module__]], draw)
    try:
        with torch.no_grad():
            out = pipe(prompt, image=Image.fromarray(img), strength=strength, num_inference_steps=steps,
                       guidance_scale=cfg, output_type="latent")
            final_latent = out.images
            image = pipe.vae.decode(final_latent / pipe.vae.config.scaling_factor).sample
            image = (image / 2 + 0.5).clamp(0, 1)[0].permute(1, 2, 0)
    finally:
        for m, f in saved:
            m.randn_tensor = f
    tensors = {"latent": final_latent.float().numpy().copy(), "image": image.float().numpy().copy(),
               "init_image": img}
    meta = {"generator": "tests/reference/gen_pipeline.py", "arch": arch, "weight_seed": str(WEIGHT_SEED),
            "seed": str(seed), "prompt": prompt, "negative_prompt": "", "sampler": sched, "steps": str(steps),
            "cfg": str(cfg), "rescale": "0.0", "width": str(SIZE), "height": str(SIZE), "strength": str(strength),
            "diffusers": diffusers.__version__, "torch": torch.__version__}
    path = os.path.join(ROOT, "tests", "fixtures", f"pipeline-{arch}-{name}.safetensors")
    save_file(tensors, path, metadata=meta)
    print("wrote", os.path.relpath(path, ROOT))


def main():
    torch.set_num_threads(2)
    scedit = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "app", "scedit")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            run_case(scedit, tmp, case)
        for case in IMG2IMG_CASES:
            run_img2img(scedit, tmp, case)


if __name__ == "__main__":
    main()
