#!/usr/bin/env python3
"""Writes tests/fixtures/ops.safetensors: inputs and PyTorch outputs for every op of the backend table.

Layouts are the backend's (NHWC activations, HWIO conv weights); references are computed in float64 from
float32 inputs and stored as float32, so the fixture holds the true value, not one library's rounding.
Run: /work/venv-ref/bin/python tests/reference/gen_ops.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 1234
torch.manual_seed(SEED)
T = {}


def put(name, t):
    T[name] = t.detach().to(torch.float32).contiguous()


def rnd(*shape, scale=1.0, offset=0.0):
    return torch.randn(*shape, dtype=torch.float32) * scale + offset


def d(t):
    return t.to(torch.float64)


# gemm: C = alpha op(A) op(B) + beta C, with padded leading dimensions (lda = cols + 3).
M, N, K = 37, 29, 19
for ta in (0, 1):
    for tb in (0, 1):
        a = rnd(K if ta else M, (M if ta else K) + 3)
        b = rnd(N if tb else K, (K if tb else N) + 3)
        c = rnd(M, N + 3)
        opa = a[:, : (M if ta else K)]
        opa = opa.t() if ta else opa
        opb = b[:, : (K if tb else N)]
        opb = opb.t() if tb else opb
        ref = c.clone().to(torch.float64)
        ref[:, :N] = 0.7 * d(opa) @ d(opb) + 0.3 * d(c[:, :N])
        p = f"gemm_{ta}{tb}"
        put(p + ".a", a); put(p + ".b", b); put(p + ".c", c); put(p + ".y", ref)

# linear
for name, m, k, n, bias in (("linear_bias", 13, 70, 33, True), ("linear_nobias", 5, 17, 9, False)):
    x, w = rnd(m, k), rnd(n, k) * 0.2
    b = rnd(n) if bias else None
    put(name + ".x", x); put(name + ".w", w)
    if bias:
        put(name + ".bias", b)
    put(name + ".y", F.linear(d(x), d(w), d(b) if bias else None))

# conv2d: name, B, H, W, Cin, Cout, k, stride, (top, left, bottom, right), bias
convs = [
    ("conv_3x3", 2, 9, 7, 5, 11, 3, 1, (1, 1, 1, 1), True),
    ("conv_vae_down", 1, 10, 9, 6, 7, 3, 2, (0, 0, 1, 1), True),   # VAE Downsample: F.pad (0,1,0,1)
    ("conv_1x1", 2, 5, 3, 13, 9, 1, 1, (0, 0, 0, 0), True),
    ("conv_unet_down", 1, 7, 7, 8, 16, 3, 2, (1, 1, 1, 1), False),
    ("conv_big", 1, 20, 21, 32, 48, 3, 1, (1, 1, 1, 1), True),     # 420 pixels: crosses tiles
    ("conv_in", 1, 17, 17, 3, 17, 3, 1, (1, 1, 1, 1), True),
    ("conv_asym", 1, 6, 8, 4, 5, 3, 1, (2, 0, 1, 1), True),
]
for name, B, H, W, ci, co, k, s, (pt, pl, pb, pr), bias in convs:
    x = rnd(B, H, W, ci)
    w = rnd(co, ci, k, k) * (1.0 / (ci * k * k) ** 0.5)
    b = rnd(co) if bias else None
    xp = F.pad(d(x).permute(0, 3, 1, 2), (pl, pr, pt, pb))
    y = F.conv2d(xp, d(w), d(b) if bias else None, stride=s).permute(0, 2, 3, 1)
    put(name + ".x", x); put(name + ".w", w.permute(2, 3, 1, 0)); put(name + ".y", y)
    if bias:
        put(name + ".bias", b)
    put(name + ".desc", torch.tensor([B, H, W, ci, co, k, s, pt, pl, pb, pr], dtype=torch.float32))

# group_norm: name, B, HW, C, groups, eps, silu
gns = [
    ("gn_small", 2, 63, 48, 8, 1e-5, False),
    ("gn_silu", 2, 63, 48, 8, 1e-5, True),
    ("gn_big", 1, 300, 64, 32, 1e-6, True),   # crosses the 256-pixel statistics chunk
]
for name, B, HW, C, G, eps, silu in gns:
    x = rnd(B, HW, C, scale=2.0, offset=3.0)   # an offset mean tests the two-pass variance
    g, b = rnd(C) * 0.5 + 1.0, rnd(C) * 0.3
    y = F.group_norm(d(x).permute(0, 2, 1), G, d(g), d(b), eps).permute(0, 2, 1)
    if silu:
        y = F.silu(y)
    put(name + ".x", x); put(name + ".gamma", g); put(name + ".beta", b); put(name + ".y", y)
    put(name + ".desc", torch.tensor([B, HW, C, G, eps, int(silu)], dtype=torch.float32))

# layer_norm
x = rnd(13, 45, scale=1.5, offset=-2.0)
g, b = rnd(45) * 0.5 + 1.0, rnd(45) * 0.3
put("ln.x", x); put("ln.gamma", g); put("ln.beta", b)
put("ln.y", F.layer_norm(d(x), (45,), d(g), d(b), 1e-5))

# attention: name, B, Nq, Nk, heads, d, causal, packed (q, k, v slices of one [N, 3C] buffer)
atts = [
    ("att_self", 2, 100, 100, 3, 8, False, True),
    ("att_cross", 1, 70, 77, 2, 40, False, False),
    ("att_causal", 1, 77, 77, 2, 16, True, True),
    ("att_long", 1, 33, 300, 1, 5, False, False),   # several key tiles
    ("att_causal_long", 1, 300, 300, 2, 8, True, False),
]
for name, B, Nq, Nk, H, D, causal, packed in atts:
    C = H * D
    scale = D ** -0.5
    if packed:
        qkv = rnd(B, Nq, 3 * C)
        q, k, v = qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]
        put(name + ".qkv", qkv)
    else:
        q, k, v = rnd(B, Nq, C), rnd(B, Nk, C) * 1.5, rnd(B, Nk, C)
        put(name + ".q", q); put(name + ".k", k); put(name + ".v", v)
    split = lambda t: d(t).reshape(B, t.shape[1], H, D).transpose(1, 2)
    o = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=causal, scale=scale)
    put(name + ".y", o.transpose(1, 2).reshape(B, Nq, C))
    put(name + ".desc", torch.tensor([B, Nq, Nk, H, D, int(causal), int(packed)], dtype=torch.float32))

# unary: a spread of values including the tails
x = torch.cat([torch.linspace(-12, 12, 601), rnd(400, scale=3.0)])   # 1001 values: odd tail
put("unary.x", x)
put("unary.silu", F.silu(d(x)))
put("unary.gelu", F.gelu(d(x)))
put("unary.quick_gelu", d(x) * torch.sigmoid(1.702 * d(x)))

# geglu
x = rnd(5, 2 * 37, scale=2.0)
put("geglu.x", x)
put("geglu.y", d(x[:, :37]) * F.gelu(d(x[:, 37:])))

# add / axpby / add_bias_per_batch / upsample / concat
a, b = rnd(1001), rnd(1001)
put("add.a", a); put("add.b", b); put("add.y", d(a) + d(b))
put("axpby.y", d(a) * 0.75 + d(b) * -1.25)
x, bias = rnd(2, 15, 19), rnd(2, 19)
put("bias.x", x); put("bias.bias", bias); put("bias.y", d(x) + d(bias)[:, None, :])
x = rnd(2, 3, 5, 7)
put("up.x", x)
put("up.y", F.interpolate(d(x).permute(0, 3, 1, 2), scale_factor=2, mode="nearest").permute(0, 2, 3, 1))
a, b = rnd(11, 5), rnd(11, 13)
put("cat.a", a); put("cat.b", b); put("cat.y", torch.cat([a, b], dim=-1))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "ops.safetensors")
save_file(T, out, metadata={"generator": "tests/reference/gen_ops.py", "seed": str(SEED),
                            "torch": torch.__version__})
print(out, os.path.getsize(out), "bytes")
