#!/usr/bin/env python3
"""Writes the torch-pickle fixtures for test-pickle.c into tests/fixtures/:

  pickle-basic.pt        torch.save of an OrderedDict: every dtype we read, a transposed (strided) tensor,
                         a view with a storage offset sharing its storage, a 0-d and an empty tensor, an
                         nn.Parameter, a module state dict (has _metadata, set through BUILD) nested inside
  pickle-ldm.ckpt        an LDM-style {"state_dict": ..., "global_step": N, ...} (root folder = file stem)
  pickle-deflate.pt      pickle-basic.pt repacked with deflate (as zip tools do)
  pickle-zip64.pt        pickle-basic.pt repacked with ZIP64 records everywhere (as big checkpoints have)
  pickle-legacy.pt       the pre-1.6 format (_use_new_zipfile_serialization=False): must be refused
  pickle-expected.safetensors   what the reader must produce: "<fixture>/<name>" -> contiguous tensor
  pickle-hostile/*.pt    hand-built hostile archives (inputs only; their expected errors are in the test)

Run from the project root:  ../venv-ref/bin/python tests/reference/gen_pickle.py
"""
import collections
import io
import os
import struct
import sys
import zipfile
import zlib

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures")
HOSTILE = os.path.join(FIX, "pickle-hostile")


def basic_dict():
    torch.manual_seed(0)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 1.0
    sd = collections.OrderedDict()
    sd["f32"] = base
    sd["f16"] = torch.tensor([1.0, -2.0, 0.5, 65504.0], dtype=torch.float16)
    sd["bf16"] = torch.tensor([[1.0, -1.0], [3.140625, 0.0]], dtype=torch.bfloat16)
    sd["f64"] = torch.tensor([1.5, -2.25], dtype=torch.float64)
    sd["i64"] = torch.arange(5, dtype=torch.int64).reshape(1, 5)
    sd["i32"] = torch.tensor([-7, 8], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["i8"] = torch.tensor([-5, 6], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["transposed"] = base.t()                 # strides (1, 4): must be copied out
    sd["offset_view"] = base[1:]                 # same storage, offset 4 elements
    sd["column"] = base[:, 2]                    # offset 2, stride 4
    sd["scalar"] = torch.tensor(7.25)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.tensor([0.5, 1.5]))
    mod = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
    sd["module"] = mod.state_dict()              # an OrderedDict with _metadata (BUILD)
    sd["count"] = 42                             # a plain int next to tensors
    return sd


def flat(d, prefix=""):
    out = collections.OrderedDict()
    for k, v in d.items():
        name = prefix + str(k)
        if isinstance(v, torch.Tensor):
            out[name] = v.detach().contiguous().clone()
        elif isinstance(v, dict):
            out.update(flat(v, name + "."))
    return out


def repack(src, dst, compression):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))


def write_zip64(src, dst):
    """Stored entries with every size and offset in ZIP64 extra fields and a ZIP64 end record."""
    with zipfile.ZipFile(src) as zin:
        items = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    out, central = bytearray(), bytearray()
    for name, data in items:
        nb, off, crc = name.encode(), len(out), zlib.crc32(data)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                           len(nb), len(extra)) + nb + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                               0xFFFFFFFF, len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cextra
    cd_off = len(out)
    out += central
    eocd64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(items), len(items), len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    open(dst, "wb").write(out)


# ---- hostile inputs -------------------------------------------------------------------------------

def archive(pkl, storages=None, root="archive", extra=None, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        z.writestr(root + "/data.pkl", pkl)
        z.writestr(root + "/byteorder", "little")
        for k, v in (storages or {}).items():
            z.writestr(root + "/data/" + k, v)
        for k, v in (extra or {}).items():
            z.writestr(k, v)
    return buf.getvalue()


def s(text):  # SHORT_BINUNICODE
    b = text.encode()
    return b"\x8c" + bytes([len(b)]) + b


def glob(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def tensor(key, numel, size, stride, offset=0, storage="FloatStorage"):
    """_rebuild_tensor_v2((persid), offset, size, stride, False, OrderedDict())"""
    def tup(xs):
        return b"(" + b"".join(b"\x8a\x08" + struct.pack("<q", x) for x in xs) + b"t"
    pid = b"(" + s("storage") + glob("torch", storage) + s(key) + s("cpu") + b"\x8a\x08" + struct.pack("<q", numel) + b"tQ"
    return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"\x8a\x08" + struct.pack("<q", offset)
            + tup(size) + tup(stride) + b"\x89" + glob("collections", "OrderedDict") + b")Rt" + b"R")


def dict1(key, value_ops):
    return b"\x80\x02}(" + s(key) + value_ops + b"u."


def hostile():
    floats = struct.pack("<4f", 1, 2, 3, 4)
    ok_tensor = tensor("0", 4, [4], [1])
    h = {}
    h["os-system"] = archive(b"\x80\x02" + glob("os", "system") + s("echo pwned") + b"\x85R.")
    h["builtins-eval"] = archive(b"\x80\x04" + s("builtins") + s("eval") + b"\x93" + s("1") + b"\x85R.")
    h["subprocess"] = archive(dict1("x", glob("subprocess", "Popen") + s("ls") + b"\x85R"))
    h["posix-system-newobj"] = archive(b"\x80\x02" + glob("posix", "system") + b")\x81.")
    h["reduce-dict"] = archive(b"\x80\x02}})R.")
    h["call-storage"] = archive(b"\x80\x02" + glob("torch", "FloatStorage") + b")R.")
    h["complex-storage"] = archive(dict1("x", tensor("0", 4, [2], [1], storage="ComplexFloatStorage")),
                                   {"0": floats})
    h["huge-shape"] = archive(dict1("x", tensor("0", 4, [1 << 40, 1 << 40], [1, 1])), {"0": floats})
    h["huge-numel"] = archive(dict1("x", tensor("0", 1 << 62, [4], [1])), {"0": floats})
    h["short-storage"] = archive(dict1("x", tensor("0", 1000, [1000], [1])), {"0": floats})
    h["past-storage"] = archive(dict1("x", tensor("0", 4, [2, 2], [2, 1], offset=1)), {"0": floats})
    h["seven-dims"] = archive(dict1("x", tensor("0", 4, [1] * 7, [1] * 7)), {"0": floats})
    h["negative-stride"] = archive(dict1("x", tensor("0", 4, [4], [-1], offset=3)), {"0": floats})
    h["expand-bomb"] = archive(dict1("x", tensor("0", 4, [1 << 20, 1 << 20], [0, 0])), {"0": floats})
    h["missing-storage"] = archive(dict1("x", ok_tensor))
    h["path-key"] = archive(dict1("x", tensor("../../etc/passwd", 4, [4], [1])), {"0": floats})
    h["deep-dicts"] = archive(b"\x80\x02" + b"}(" + b"".join(b"}(" + s("a") for _ in range(100))[2:]
                              + b"}" + b"u" * 100 + b".")
    h["self-dict"] = archive(b"\x80\x02}q\x00" + s("me") + b"h\x00s.")
    dag = b"\x80\x02}(" + s("t") + b"}uq\x00"   # 2**30 paths through 30 levels of shared dicts
    for i in range(1, 31):
        dag += b"}(" + s("a") + b"h" + bytes([i - 1]) + s("b") + b"h" + bytes([i - 1]) + b"uq" + bytes([i])
    h["dag-explosion"] = archive(dag + b".", {"0": floats})
    h["many-marks"] = archive(b"\x80\x02" + b"(" * 20000 + b".")
    h["memo-missing"] = archive(b"\x80\x02h\x05.")
    h["memo-huge-index"] = archive(b"\x80\x02}r\xff\xff\xff\xffj\xfe\xff\xff\xff.")
    h["empty-stack"] = archive(b"\x80\x02s.")
    h["truncated-pickle"] = archive(dict1("x", ok_tensor)[:40], {"0": floats})
    h["no-stop"] = archive(b"\x80\x02}")
    h["long-too-big"] = archive(b"\x80\x02\x8a\x09" + b"\x01" * 9 + b".")
    h["string-overflow"] = archive(b"\x80\x04\x8d" + struct.pack("<Q", 1 << 63) + b"abc.")
    h["protocol-0"] = archive(b"(dp0\nVa\np1\nI1\ns.")
    h["list-root"] = archive(b"\x80\x02](" + ok_tensor + b"e.", {"0": floats})
    # archive() writes byteorder "little"; this one says "big"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", dict1("x", ok_tensor))
        z.writestr("archive/byteorder", "big")
        z.writestr("archive/data/0", floats)
    h["big-endian"] = buf.getvalue()
    h["two-roots"] = archive(dict1("x", ok_tensor), {"0": floats}, extra={"other/data.pkl": b"\x80\x02}."})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a/b.txt", "hi")
    h["no-data-pkl"] = buf.getvalue()
    h["dotdot-root"] = archive(dict1("x", ok_tensor), {"0": floats}, root="..")
    # A deflated data.pkl claiming 3 GB: refused from the sizes alone.
    good = archive(dict1("x", ok_tensor), {"0": floats}, compression=zipfile.ZIP_DEFLATED)
    bomb = bytearray(good)
    cd = bomb.find(b"PK\x01\x02")
    struct.pack_into("<I", bomb, cd + 24, 3 << 30)
    h["zip-bomb"] = bytes(bomb)
    # A deflated entry whose data is longer than its declared size.
    lie = bytearray(good)
    struct.pack_into("<I", lie, cd + 24, 10)
    h["deflate-size-lie"] = bytes(lie)
    whole = archive(dict1("x", ok_tensor), {"0": floats})
    h["truncated-zip"] = whole[: len(whole) // 2]
    h["cd-out-of-bounds"] = whole[:-6] + struct.pack("<IH", 0x7FFFFFF0, 0)
    dup = bytearray(archive(dict1("x", ok_tensor), {"0": floats, "1": floats}))
    i = dup.find(b"archive/data/1", dup.find(b"PK\x01\x02"))
    dup[i:i + 14] = b"archive/data/0"
    h["duplicate-names"] = bytes(dup)
    h["not-a-zip"] = b"hello, this is not a checkpoint at all"
    return h


def main() -> int:
    os.makedirs(HOSTILE, exist_ok=True)
    basic = basic_dict()
    torch.save(basic, os.path.join(FIX, "pickle-basic.pt"))
    ldm_sd = collections.OrderedDict()
    ldm_sd["model.diffusion_model.out.2.bias"] = torch.tensor([0.25, -0.5, 1.0, 2.0], dtype=torch.float16)
    ldm_sd["first_stage_model.quant_conv.weight"] = (torch.arange(8, dtype=torch.float32) / 8).reshape(2, 4, 1, 1)
    ldm_sd["model_ema.decay"] = torch.tensor(0.9999)
    ldm_sd["model_ema.num_updates"] = torch.tensor(12, dtype=torch.int32)
    ldm = {"state_dict": ldm_sd, "global_step": 470000, "epoch": 3, "big": 1 << 40, "neg": -5,
           "pytorch-lightning_version": "1.4.2", "optimizer_states": [{"lr": 1e-4}]}
    torch.save(ldm, os.path.join(FIX, "pickle-ldm.ckpt"))
    repack(os.path.join(FIX, "pickle-basic.pt"), os.path.join(FIX, "pickle-deflate.pt"), zipfile.ZIP_DEFLATED)
    write_zip64(os.path.join(FIX, "pickle-basic.pt"), os.path.join(FIX, "pickle-zip64.pt"))
    torch.save(collections.OrderedDict(x=torch.ones(2)), os.path.join(FIX, "pickle-legacy.pt"),
               _use_new_zipfile_serialization=False)

    expected = collections.OrderedDict()
    for k, v in flat(basic).items():
        expected["basic/" + k] = v
    for k, v in flat(ldm).items():
        expected["ldm/" + k] = v
    save_file(expected, os.path.join(FIX, "pickle-expected.safetensors"))

    for name, data in hostile().items():
        open(os.path.join(HOSTILE, name + ".pt"), "wb").write(data)
    # The hostile archives must really fail in PyTorch's own safe loader too (a sanity check that they
    # are what their names say; the dangerous ones are never loaded with weights_only=False).
    for name in ("os-system", "builtins-eval", "subprocess"):
        try:
            torch.load(os.path.join(HOSTILE, name + ".pt"), weights_only=True)
            print("unexpected: torch loaded", name, file=sys.stderr)
            return 1
        except Exception:
            pass
    # ...and the valid ones load back in torch as written.
    back = torch.load(os.path.join(FIX, "pickle-zip64.pt"), weights_only=True)
    assert torch.equal(back["transposed"], basic["transposed"])
    back = torch.load(os.path.join(FIX, "pickle-deflate.pt"), weights_only=True)
    assert torch.equal(back["column"], basic["column"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
