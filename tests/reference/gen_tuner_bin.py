#!/usr/bin/env python3
"""Writes the published tuner layouts as PyTorch pickles (torch.save), from tuners our own
`scedit make-tuner` makes, so the C loader can be checked to read exactly the same numbers:

  tests/fixtures/tuner-swift/0_SwiftSCETuning/{adapter_config.json, adapter_model.bin}, configuration.json
      swift style tuner (scedit.md §5.1): keys model.lsc_identity.{m}.scetuner_0_SwiftSCETuning.tuner_op.ln{1,2}.*
      from `make-tuner --kind sc --arch tiny-sd1 --ratio 0.25 --random-all --seed 11`
  tests/fixtures/tuner-scepter-ctr/0_SwiftSCETuning/{configuration.json, pytorch_model.bin}
      scepter controller (scedit.md §5.3): keys model.0.{pre_hint_blocks,dense_hint_blocks,lsc_tuner_blocks}.*
      from `make-tuner --kind csc --arch tiny-sd1 --kernel 1 --ratio 0.25 --hint-ratio 0.25 --hint-out 16
      --random-all --seed 12`

Run (after building): /work/venv-ref/bin/python tests/reference/gen_tuner_bin.py [path/to/scedit]
"""
import collections
import json
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures")


def make(scedit, args, tmp, name):
    path = os.path.join(tmp, name)
    subprocess.run([scedit, "make-tuner", *args, "-o", path], check=True)
    return load_file(path)


def main():
    scedit = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "app", "scedit")
    with tempfile.TemporaryDirectory() as tmp:
        sc = make(scedit, ["--kind", "sc", "--arch", "tiny-sd1", "--ratio", "0.25", "--random-all", "--seed", "11"],
                  tmp, "sc.safetensors")
        csc = make(scedit, ["--kind", "csc", "--arch", "tiny-sd1", "--kernel", "1", "--ratio", "0.25", "--hint-ratio",
                            "0.25", "--hint-out", "16", "--random-all", "--seed", "12"], tmp, "csc.safetensors")
    # swift: model.lsc_identity.{m}.tuner_op.* → model.lsc_identity.{m}.scetuner_0_SwiftSCETuning.tuner_op.*
    swift = collections.OrderedDict()
    for k in sorted(sc):
        assert k.startswith("model.lsc_identity.") and ".tuner_op." in k, k
        swift[k.replace(".tuner_op.", ".scetuner_0_SwiftSCETuning.tuner_op.")] = sc[k].clone()
    d = os.path.join(FIX, "tuner-swift", "0_SwiftSCETuning")
    os.makedirs(d, exist_ok=True)
    torch.save(swift, os.path.join(d, "adapter_model.bin"))
    dims = [int(swift[f"model.lsc_identity.{m}.scetuner_0_SwiftSCETuning.tuner_op.ln2.bias"].shape[0]) for m in range(12)]
    json.dump({"dims": dims, "target_modules": r"model.lsc_identity\.\d+$", "hint_modules": None,
               "tuner_mode": "identity", "tuner_op": "SCEAdapter", "down_ratio": 0.25, "swift_type": "SCETuning",
               "generator": "tests/reference/gen_tuner_bin.py", "seed": 11},
              open(os.path.join(d, "adapter_config.json"), "w"), indent=1)
    open(os.path.join(FIX, "tuner-swift", "configuration.json"), "w").write("{}\n")

    # scepter controller: the ModuleList index prefix "0." and a leading "model."
    ctr = collections.OrderedDict()
    for k in sorted(csc):
        name = k[len("model."):] if k.startswith("model.") else k
        name = name[len("0."):] if name.startswith("0.") else name
        ctr["model.0." + name] = csc[k].clone()
    d = os.path.join(FIX, "tuner-scepter-ctr", "0_SwiftSCETuning")
    os.makedirs(d, exist_ok=True)
    torch.save(ctr, os.path.join(d, "pytorch_model.bin"))
    json.dump({"CONTROL_MODEL": {"NAME": "CSCTuners", "PRE_HINT_IN_CHANNELS": 3, "PRE_HINT_OUT_CHANNELS": 16,
                                 "PRE_HINT_DIM_RATIO": 0.25, "DENSE_HINT_KERNAL": 1, "DOWN_RATIO": 0.25,
                                 "SCALE": 1.0},
               "generator": "tests/reference/gen_tuner_bin.py", "seed": 12},
              open(os.path.join(d, "configuration.json"), "w"), indent=1)
    for f in ("tuner-swift/0_SwiftSCETuning/adapter_model.bin", "tuner-scepter-ctr/0_SwiftSCETuning/pytorch_model.bin"):
        print("wrote", f, os.path.getsize(os.path.join(FIX, f)), "bytes")


if __name__ == "__main__":
    main()
