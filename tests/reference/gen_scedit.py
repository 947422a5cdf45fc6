#!/usr/bin/env python3
"""SCEdit reference fixtures: tests/fixtures/scedit-<arch>.safetensors.

A diffusers UNet2DConditionModel with our random weights (`scedit make-model --seed MODEL_SEED --layout
diffusers`) runs with the OFFICIAL scepter classes (scepter==1.4.1, scepter/modules/model/tuner/sce/
scetuning.py: SCTuner, CSCTuners) applied to its skips: a forward pre-hook on up_blocks[b].resnets[r]
(decoder skip m = 3b + r; diffusers concatenates [hidden, skip], so the skip is the last C channels) edits
the skip exactly as scepter's DiffusionUNet._forward_origin / _forward_control do. The tuner weights are the
files `scedit make-tuner --random-all` writes (the seeds below), loaded into the official modules with
strict state-dict loading, so the C test rebuilds them with sc_*_tuner_new_random.

Cases (B = 2, latent 8×6, hints 64×48 stored as u8, read as u8/255):
  base        no tuner
  sc          style A, strength 1 (full output)
  sc_half     style A, tuner_scale 0.5: skip + 0.5·(SC(skip) − skip)
  two_styles  A at 1 then B at 0.6, composed sequentially (swift): y = A(skip); y + 0.6·(B(y) − y)
  ctrl        conditions 1 (k=3, ρ=0.25, out 64) at 0.8 and 2 (k=1, ρ=0.5, out 48, ratio 0.5) at 0.5,
              control_scale 1
  full        style A at 0.7 + both conditions, control_scale 0.9 (scepter's csc + sc branch)

Run from the repository root after building: python3 tests/reference/gen_scedit.py build-h11/app/scedit
Needs torch, diffusers, safetensors and scepter (pip install --no-deps scepter==1.4.1).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file, save_file
from scepter.modules.model.tuner.sce.scetuning import CSCTuners, SCTuner
from scepter.modules.utils.config import Config

MODEL_SEED = {"tiny-sd1": 5, "tiny-sd2": 6}
# make-tuner arguments, shared with tests/engine/test-scedit.c
TUNERS = {
    "A": ["--kind", "sc", "--ratio", "0.5", "--seed", "11"],
    "B": ["--kind", "sc", "--ratio", "1", "--seed", "12"],
    "C1": ["--kind", "csc", "--kernel", "3", "--hint-ratio", "0.25", "--hint-out", "64", "--seed", "21"],
    "C2": ["--kind", "csc", "--kernel", "1", "--hint-ratio", "0.5", "--hint-out", "48", "--ratio", "0.5",
           "--seed", "22"],
}


def skip_layout(cfg):
    chans, down = [cfg["block_out_channels"][0]], [False]
    n = len(cfg["block_out_channels"])
    for lv, ch in enumerate(cfg["block_out_channels"]):
        for _ in range(cfg["layers_per_block"]):
            chans.append(ch)
            down.append(False)
        if lv != n - 1:
            chans.append(ch)
            down.append(True)
    return chans, down


def load_sc(path, chans):
    sd = load_file(path)
    n = len(chans)
    mods = torch.nn.ModuleList()
    for m in range(n):
        c = chans[n - 1 - m]
        L = sd[f"model.lsc_identity.{m}.tuner_op.ln1.weight"].shape[0]
        mods.append(SCTuner({"DIM": c, "TUNER_LENGTH": L}))
    mods.load_state_dict({k[len("model.lsc_identity."):]: v for k, v in sd.items()}, strict=True)
    return mods.eval()


def load_csc(path, chans, down):
    sd = load_file(path)
    w0 = sd["0.pre_hint_blocks.0.weight"]
    cfg = {
        "INPUT_BLOCK_CHANS": chans, "INPUT_DOWN_FLAG": down,
        "PRE_HINT_IN_CHANNELS": 3, "PRE_HINT_OUT_CHANNELS": sd["0.pre_hint_blocks.12.weight"].shape[0],
        "PRE_HINT_DIM_RATIO": w0.shape[0] / 16.0,
        "DENSE_HINT_KERNAL": sd["0.dense_hint_blocks.0.1.weight"].shape[2],
        "SC_TUNER_CFG": Config(cfg_dict={"NAME": "SCTuner", "TUNER_NAME": "SCEAdapter"}, load=False),
        "DOWN_RATIO": sd["0.lsc_tuner_blocks.0.tuner_op.ln1.weight"].shape[0] / chans[-1],
    }
    csc = CSCTuners(cfg)
    csc.load_state_dict({k[2:]: v for k, v in sd.items()}, strict=True)
    return csc.eval()


def hint_features(csc, hint):
    # as DiffusionUNet._forward_control
    h = csc.pre_hint_blocks(hint)
    hs = []
    for blk in csc.dense_hint_blocks:
        h = blk(h)
        hs.append(h)
    return hs


def main():
    scedit = sys.argv[1] if len(sys.argv) > 1 else "build/app/scedit"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    torch.manual_seed(0)
    for arch, seed in MODEL_SEED.items():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([scedit, "make-model", "--arch", arch, "--seed", str(seed), "--layout", "diffusers",
                            "-o", f"{tmp}/model"], check=True, stdout=subprocess.DEVNULL)
            unet = UNet2DConditionModel.from_pretrained(f"{tmp}/model/unet").eval()
            chans, down = skip_layout(unet.config)
            n = len(chans)
            files = {}
            for name, args in TUNERS.items():
                files[name] = f"{tmp}/{name}.safetensors"
                subprocess.run([scedit, "make-tuner", "--arch", arch, "--random-all", *args, "-o", files[name]],
                               check=True, stdout=subprocess.DEVNULL)
            A, B = load_sc(files["A"], chans), load_sc(files["B"], chans)
            C1, C2 = load_csc(files["C1"], chans, down), load_csc(files["C2"], chans, down)

            g = torch.Generator().manual_seed(100 + seed)
            Bn, H, W = 2, 8, 6
            x = torch.randn(Bn, 4, H, W, generator=g)
            t = torch.tensor([999.0, 261.0])
            ctx = torch.randn(Bn, 77, unet.config.cross_attention_dim, generator=g)
            # smooth-ish hints in [0, 1] as 8-bit images
            yy, xx = torch.meshgrid(torch.arange(8 * H), torch.arange(8 * W), indexing="ij")
            hint1_u8 = ((torch.sin(xx[None] * 0.3 + torch.arange(3)[:, None, None]) * 0.5 + 0.5) * 255).round()
            hint1_u8 = hint1_u8.clamp(0, 255).to(torch.uint8)[None]
            hint2_u8 = torch.randint(0, 256, (1, 3, 8 * H, 8 * W), generator=g, dtype=torch.uint8)
            hint1, hint2 = hint1_u8.float() / 255, hint2_u8.float() / 255

            state = {"edit": None}

            def make_hook(m, c):
                def hook(module, args, kwargs):
                    if state["edit"] is None:
                        return None
                    h = args[0]
                    skip = h[:, -c:]
                    new = state["edit"](m, skip)
                    return (torch.cat([h[:, :-c], new], dim=1),) + tuple(args[1:]), kwargs
                return hook

            per = unet.config.layers_per_block + 1
            for b, blk in enumerate(unet.up_blocks):
                for r, res in enumerate(blk.resnets):
                    m = b * per + r
                    res.register_forward_pre_hook(make_hook(m, chans[n - 1 - m]), with_kwargs=True)

            def style_edit(styles):
                def edit(m, skip):
                    y = skip
                    for mods, s in styles:
                        y = y + s * (mods[m](y) - y) if s < 1.0 else mods[m](y)
                    return y
                return edit

            def control_edit(style, conds, control_scale):
                feats = [(csc, hint_features(csc, hint), w) for csc, hint, w in conds]

                def edit(m, skip):
                    ctrl = 0
                    for csc, hs, w in feats:
                        gm = hs[::-1][m]
                        ctrl = ctrl + w * csc.lsc_tuner_blocks[m](skip + gm, x_shortcut=gm)
                    out = skip + control_scale * ctrl
                    if style is not None:
                        mods, ts = style
                        out = out + ts * (mods[m](skip) - skip)
                    return out
                return edit

            conds = [(C1, hint1, 0.8), (C2, hint2, 0.5)]
            cases = {
                "base": None,
                "sc": style_edit([(A, 1.0)]),
                "sc_half": style_edit([(A, 0.5)]),
                "two_styles": style_edit([(A, 1.0), (B, 0.6)]),
                "ctrl": control_edit(None, conds, 1.0),
                "full": control_edit((A, 0.7), conds, 0.9),
            }
            tensors = {"x": x, "t": t, "context": ctx, "hint1": hint1_u8, "hint2": hint2_u8}
            with torch.no_grad():
                for name, edit in cases.items():
                    state["edit"] = edit
                    tensors[f"{name}.out"] = unet(x, t, encoder_hidden_states=ctx).sample
                    print(arch, name, float(tensors[f"{name}.out"].abs().max()))
            meta = {"generator": "tests/reference/gen_scedit.py (scepter 1.4.1 SCTuner/CSCTuners, diffusers "
                                 "UNet2DConditionModel)", "arch": arch, "model_seed": str(seed)}
            for name, args in TUNERS.items():
                meta[f"tuner.{name}"] = " ".join(args)
            save_file({k: v.contiguous() for k, v in tensors.items()},
                      os.path.join(root, "tests", "fixtures", f"scedit-{arch}.safetensors"), metadata=meta)


if __name__ == "__main__":
    main()
