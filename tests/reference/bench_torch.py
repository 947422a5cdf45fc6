#!/usr/bin/env python3
"""Not run in CI. Times PyTorch (diffusers) on the same job as `scedit bench`: builds the U-Net or VAE from
a `scedit make-model --layout diffusers` folder, runs one warm-up and N timed forwards with
torch.set_num_threads(T), and prints the median and the process's peak RSS in the same format as
`scedit bench`, so bench_compare.sh can set the two side by side.

Run: /work/venv-ref/bin/python tests/reference/bench_torch.py unet|vae-decode --model DIR \
       [--res 512] [--batch 2] [--threads 2] [--iters 3]
"""
import argparse
import resource
import statistics
import sys
import time


def peak_rss_mib():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["unet", "vae-decode"])
    ap.add_argument("--model", required=True, help="make-model folder (diffusers layout)")
    ap.add_argument("--res", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    g = torch.Generator().manual_seed(0)
    h = args.res // 8
    rss_before_load = peak_rss_mib()
    if args.what == "unet":
        from diffusers import UNet2DConditionModel
        model = UNet2DConditionModel.from_pretrained(f"{args.model}/unet").eval()
        x = torch.randn(args.batch, 4, h, h, generator=g)
        t = torch.tensor([500.0 + b for b in range(args.batch)])
        ctx = torch.randn(args.batch, 77, model.config.cross_attention_dim, generator=g)
        run = lambda: model(x, t, encoder_hidden_states=ctx).sample
    else:
        from diffusers import AutoencoderKL
        model = AutoencoderKL.from_pretrained(f"{args.model}/vae").eval()
        z = torch.randn(args.batch, 4, h, h, generator=g)
        run = lambda: model.decode(z).sample
    params = sum(p.numel() for p in model.parameters())
    print(f"Loaded {args.what}: {params / 1e6:.1f} M parameters, peak RSS {peak_rss_mib():.1f} MiB "
          f"(interpreter + torch {rss_before_load:.1f} MiB)", file=sys.stderr)

    times = []
    with torch.inference_mode():
        for it in range(-1, args.iters):
            t0 = time.perf_counter()
            run()
            ms = (time.perf_counter() - t0) * 1000.0
            if it < 0:
                print(f"  warm-up: {ms:.1f} ms", file=sys.stderr)
            else:
                times.append(ms)
                print(f"  iteration {it + 1}: {ms:.1f} ms", file=sys.stderr)
    print(f"{args.what} torch {args.res}px batch {args.batch} threads {torch.get_num_threads()}: "
          f"median {statistics.median(times):.1f} ms over {args.iters} iterations, "
          f"peak RSS {peak_rss_mib():.1f} MiB")


if __name__ == "__main__":
    main()
