#!/usr/bin/env python3
"""Writes tests/fixtures/clip-text-tiny-sd1.safetensors and clip-text-tiny-sd2.safetensors: token ids and
the text encoder's output (last_hidden_state = final LN of the last used layer) computed by transformers'
CLIPTextModel on the deterministic random weights of `scedit make-model`.

The weights are not stored: the C test (tests/engine/test-clip-text.c) rebuilds the same model from
sc_weight_source_new_random (WEIGHT_SEED) with LDM names. For SD2 the diffusers folder holds an HF
CLIPTextModel with q/k/v split from in_proj and the unused last layer dropped, which is exactly what LDM's
"penultimate" FrozenOpenCLIPEmbedder computes. The reference runs in float64.
Tensors: ids [2,77] int32 (row 0: a short prompt padded with the family's pad id, row 1: 77 tokens, BOS,
75 seeded random ids in [0, 49405], EOS); hidden [2,77,width] float32.

Run (after building the CLI): /work/venv-ref/bin/python tests/reference/gen_clip_text.py [--scedit build/app/scedit]
"""
import argparse
import os
import subprocess
import tempfile

import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import CLIPTextModel

WEIGHT_SEED = 2002
INPUT_SEED = 11
BOS, EOS = 49406, 49407
ARCHS = {"tiny-sd1": 49407, "tiny-sd2": 0}  # arch -> pad id (SD1 pads with EOS, SD2 with 0)


def token_ids(pad_id):
    short = [BOS, 320, 1125, 539, 320, 2368, EOS]  # "a photo of a cat"
    short = short + [pad_id] * (77 - len(short))
    gen = torch.Generator().manual_seed(INPUT_SEED)
    mid = torch.randint(0, 49406, (75,), generator=gen).tolist()
    mid[0], mid[1] = 0, 49405  # the ends of the ordinary range
    full = [BOS] + mid + [EOS]
    return torch.tensor([short, full], dtype=torch.int32)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--scedit", default=os.path.join(here, "..", "..", "build", "app", "scedit"))
    args = ap.parse_args()
    for arch, pad_id in ARCHS.items():
        ids = token_ids(pad_id)
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = os.path.join(tmp, "model")
            subprocess.run([args.scedit, "make-model", "--arch", arch, "--seed", str(WEIGHT_SEED),
                            "--layout", "diffusers", "-o", model_dir], check=True)
            te = CLIPTextModel.from_pretrained(os.path.join(model_dir, "text_encoder"),
                                               attn_implementation="eager").double().eval()
            # Every parameter must come from the file (nothing left at transformers' own random init).
            # (transformers 5 names the module's own parameters without the file's "text_model." prefix)
            stored = {k.removeprefix("text_model.") for k in
                      safe_open(os.path.join(model_dir, "text_encoder", "model.safetensors"), "pt").keys()}
            params = {k.removeprefix("text_model.") for k in te.state_dict().keys()} - {"embeddings.position_ids"}
            assert stored == params, stored ^ params
            with torch.no_grad():
                hidden = te(input_ids=ids.long()).last_hidden_state.float().contiguous()
        path = os.path.normpath(os.path.join(here, "..", "fixtures", "clip-text-%s.safetensors" % arch))
        save_file({"ids": ids, "hidden": hidden}, path,
                  metadata={"generator": "tests/reference/gen_clip_text.py", "arch": arch,
                            "weight_seed": str(WEIGHT_SEED), "input_seed": str(INPUT_SEED),
                            "reference": "transformers %s CLIPTextModel, float64" % transformers.__version__})
        print(arch, list(hidden.shape), "max|x| %.4g" % hidden.abs().max().item(), "->", path)


if __name__ == "__main__":
    main()
