#!/usr/bin/env python3
"""Writes tests/fixtures/schedule.safetensors: what engine/diffusion/schedule.c and sampler.c must reproduce.

The reference is diffusers' own schedulers (DDIMScheduler, EulerAncestralDiscreteScheduler,
DPMSolverMultistepScheduler) configured like an SD single-file pipeline, driven the way
StableDiffusionPipeline / StableDiffusionImg2ImgPipeline drive them (init_noise_sigma, scale_model_input,
step, set_begin_index, add_noise). The U-Net is replaced by a fake deterministic model that C computes
identically:  out = f32(0.3·cos(t/300))·x_in + f32(0.1·sin(t/100)).
Noise comes from a fixed pool (torch.manual_seed(SEED)) consumed in order: first the starting latent's
noise, then each step's noise (DDIM with eta > 0 via variance_noise; Euler ancestral by patching its
randn_tensor). Every value is stored as F32.

Run: /work/venv-ref/bin/python tests/reference/gen_schedule.py
"""
import math
import os

import diffusers
import numpy as np
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler
from diffusers.schedulers import scheduling_euler_ancestral_discrete as euler_a_mod
from safetensors.torch import save_file

SEED = 20240607
N = 4 * 8 * 8   # one latent, 4×8×8
POOL = 16       # noise draws available to one run
STEPS = 8

SD = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
          timestep_spacing="leading", steps_offset=1)


def make(kind, prediction="epsilon", spacing="leading"):
    cfg = dict(SD, prediction_type=prediction, timestep_spacing=spacing)
    if kind == "ddim":
        return DDIMScheduler(**cfg, clip_sample=False, set_alpha_to_one=False)
    if kind == "euler_a":
        return EulerAncestralDiscreteScheduler(**cfg)
    return DPMSolverMultistepScheduler(**cfg, algorithm_type="dpmsolver++", solver_order=2,
                                       solver_type="midpoint", lower_order_final=True)


def fake_model(x_in, t):
    t = float(t)
    c1 = torch.tensor(0.3 * math.cos(t / 300.0), dtype=torch.float32)
    c2 = torch.tensor(0.1 * math.sin(t / 100.0), dtype=torch.float32)
    return c1 * x_in + c2


class Pool:
    def __init__(self, noise):
        self.noise, self.k = noise, 0

    def next(self):
        z = self.noise[self.k].reshape(1, 4, 8, 8).clone()
        self.k += 1
        return z


def run(kind, prediction, eta=0.0, strength=1.0, z0=None, spacing="leading", pool_noise=None):
    """Returns (x after the first step, final x), like the diffusers pipelines."""
    sched = make(kind, prediction, spacing)
    pool = Pool(pool_noise)
    euler_a_mod.randn_tensor = lambda shape, **kw: pool.next()
    sched.set_timesteps(STEPS)
    timesteps = sched.timesteps
    first = pool.next()
    if z0 is None:
        x = first * sched.init_noise_sigma
    else:
        init = min(int(STEPS * strength), STEPS)
        t_start = max(STEPS - init, 0)
        timesteps = timesteps[t_start * sched.order:]
        if hasattr(sched, "set_begin_index"):
            sched.set_begin_index(t_start * sched.order)
        x = sched.add_noise(z0.reshape(1, 4, 8, 8), first, timesteps[:1])
    x1 = None
    for t in timesteps:
        x_in = sched.scale_model_input(x, t)
        out = fake_model(x_in, t)
        if kind == "ddim":
            kw = dict(eta=eta)
            if eta > 0:
                kw["variance_noise"] = pool.next()
            x = sched.step(out, t, x, **kw).prev_sample
        else:
            x = sched.step(out, t, x).prev_sample
        if x1 is None:
            x1 = x.clone()
    return x1.reshape(-1), x.reshape(-1)


def f32(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64)).to(torch.float32).contiguous()


def main():
    g = torch.Generator().manual_seed(SEED)
    noise = torch.randn(POOL, N, generator=g, dtype=torch.float32)
    z0 = torch.randn(N, generator=g, dtype=torch.float32) * 0.8
    uncond = torch.randn(N, generator=g, dtype=torch.float32)
    cond = uncond + 0.5 * torch.randn(N, generator=g, dtype=torch.float32) + 0.1
    t = {"noise": noise, "z0": z0, "cfg_uncond": uncond, "cfg_cond": cond}

    ddim = make("ddim")
    t["alphas_cumprod"] = ddim.alphas_cumprod.to(torch.float32).contiguous()

    for rule in ("ddim", "euler_a", "dpmpp_2m"):
        for spacing in ("leading", "trailing", "linspace"):
            for s in (7, 8, 16, 20, 50):
                sch = make(rule, spacing=spacing)
                sch.set_timesteps(s)
                t[f"ts_{rule}_{spacing}_{s}"] = f32(sch.timesteps.numpy())
                if rule != "ddim" and s == 20:
                    t[f"sigmas_{rule}_{spacing}_{s}"] = f32(sch.sigmas.numpy())
                    t[f"init_sigma_{rule}_{spacing}_{s}"] = f32([float(sch.init_noise_sigma)])

    dpm = make("dpmpp_2m")
    log_sigmas = np.log(np.array(((1 - dpm.alphas_cumprod) / dpm.alphas_cumprod) ** 0.5))
    probe = np.array([0.02, 0.0292, 0.1, 1.0, 3.3, 14.6, 20.0])
    t["sigma_to_t_in"] = f32(probe)
    t["sigma_to_t_out"] = f32([dpm._sigma_to_t(np.array([p]), log_sigmas)[0] for p in probe])

    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg
    for scale, rescale in ((7.5, 0.0), (7.5, 0.7), (4.0, 1.0)):
        u, c = uncond.reshape(1, 4, 8, 8), cond.reshape(1, 4, 8, 8)
        out = u + scale * (c - u)
        if rescale > 0:
            out = rescale_noise_cfg(out, c, guidance_rescale=rescale)
        t[f"cfg_{scale}_{rescale}"] = out.reshape(-1).contiguous()

    runs = {
        "ddim_eps_eta0": dict(kind="ddim", prediction="epsilon"),
        "ddim_eps_eta1": dict(kind="ddim", prediction="epsilon", eta=1.0),
        "ddim_v_eta0": dict(kind="ddim", prediction="v_prediction"),
        "ddim_v_eta1": dict(kind="ddim", prediction="v_prediction", eta=1.0),
        "ddim_eps_trailing": dict(kind="ddim", prediction="epsilon", spacing="trailing"),
        "euler_a_eps": dict(kind="euler_a", prediction="epsilon"),
        "euler_a_v": dict(kind="euler_a", prediction="v_prediction"),
        "euler_a_eps_linspace": dict(kind="euler_a", prediction="epsilon", spacing="linspace"),
        "dpmpp_2m_eps": dict(kind="dpmpp_2m", prediction="epsilon"),
        "dpmpp_2m_v": dict(kind="dpmpp_2m", prediction="v_prediction"),
        "dpmpp_2m_eps_trailing": dict(kind="dpmpp_2m", prediction="epsilon", spacing="trailing"),
        "img2img_ddim_eps": dict(kind="ddim", prediction="epsilon", strength=0.6, z0=z0),
        "img2img_ddim_v_eta1": dict(kind="ddim", prediction="v_prediction", eta=1.0, strength=0.6, z0=z0),
        "img2img_euler_a_eps": dict(kind="euler_a", prediction="epsilon", strength=0.6, z0=z0),
        "img2img_dpmpp_2m_eps": dict(kind="dpmpp_2m", prediction="epsilon", strength=0.6, z0=z0),
    }
    for name, kw in runs.items():
        x1, xf = run(pool_noise=noise, **kw)
        t[f"run_{name}_x1"] = x1.contiguous()
        t[f"run_{name}_final"] = xf.contiguous()

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "fixtures", "schedule.safetensors")
    meta = {"generator": "tests/reference/gen_schedule.py", "seed": str(SEED), "steps": str(STEPS),
            "diffusers": diffusers.__version__, "torch": torch.__version__}
    save_file({k: v.to(torch.float32).contiguous() for k, v in t.items()}, path, metadata=meta)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(t)} tensors)")


if __name__ == "__main__":
    main()
