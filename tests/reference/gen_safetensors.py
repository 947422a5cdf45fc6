#!/usr/bin/env python3
"""Writes tests/fixtures/safetensors-python.safetensors with the reference `safetensors` library, so
test-safetensors proves we read the real writer's output (header layout, padding, ordering, escaping).

Run from the project root with the reference environment:
    ../venv-ref/bin/python tests/reference/gen_safetensors.py
The values are simple closed forms; test-safetensors.c checks them exactly (keep the two in step).
"""
import os
import sys

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "safetensors-python.safetensors")


def main() -> int:
    tensors = {
        # F32 [2, 3]: i * 0.5 - 1
        "model.f32": (torch.arange(6, dtype=torch.float32) * 0.5 - 1.0).reshape(2, 3),
        # F16 [4]: values exact in f16, including the largest finite one
        "model.f16": torch.tensor([1.0, -2.0, 0.5, 65504.0], dtype=torch.float16),
        # BF16 [2, 2]: values exact in bf16
        "model.bf16": torch.tensor([[1.0, -1.0], [3.140625, 0.0]], dtype=torch.bfloat16),
        # I64 [1, 5]: position ids
        "position_ids": torch.arange(5, dtype=torch.int64).reshape(1, 5),
        # 0-d scalar
        "scalar": torch.tensor(7.25, dtype=torch.float32),
        # empty tensor
        "empty": torch.zeros((0, 3), dtype=torch.float32),
        # a name with non-ASCII characters, a quote and a backslash
        'ünï "cödé" \\ ✓': torch.tensor([42.0], dtype=torch.float32),
    }
    metadata = {"format": "pt", "note": 'ünï "quoted" \\ ✓'}
    save_file(tensors, OUT, metadata=metadata)
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
