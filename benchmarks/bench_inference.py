"""Paper-size AiFDepthNet inference on a 10x512x512 stack: seconds and peak memory of the
plain eval-mode network, with batch-norm folded, and folded + channels-last, each in its
own process so the peak memory is its own. On a GPU (--device cuda) the times are
synchronised and the memory is the peak allocated on the GPU. Prints figures; asserts nothing."""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from aifdepth.devices import device_name, synchronise
from aifdepth.models import ModelConfig, build_model, count_parameters
from aifdepth.models.inference import fold_batchnorm, to_channels_last

VARIANTS = ("plain", "folded", "folded+channels-last")


def measure(variant: str, slices: int, size: int, width: str, repeats: int, device: str) -> dict:
    torch.manual_seed(0)
    model = build_model(ModelConfig(conv="3d", width=width)).eval()
    if variant != "plain":
        model = fold_batchnorm(model)
    if variant == "folded+channels-last":
        model = to_channels_last(model)
    model = model.to(device)
    stack = torch.rand(1, slices, 3, size, size, device=device)
    focus = torch.linspace(-2.5, 2.5, slices, device=device)[None]
    times = []
    with torch.inference_mode():
        model(stack, focus)  # warm-up
        for _ in range(repeats):
            synchronise(device)
            start = time.perf_counter()
            model(stack, focus)
            synchronise(device)
            times.append(time.perf_counter() - start)
    if device.startswith("cuda"):
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "variant": variant,
        "seconds": statistics.median(times),
        "parameters": count_parameters(model),
        "peak_mb": peak_mb,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--width", choices=["paper", "compact"], default="paper")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # one measurement (child process)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.variant, args.slices, args.size, args.width, args.repeats, args.device)))
        return
    memory = "peak GPU memory allocated" if args.device.startswith("cuda") else "peak memory (RSS)"
    print(
        f"AiFDepthNet 3D ({args.width}) inference, 1x{args.slices}x{args.size}x{args.size}, "
        f"{device_name(args.device)}, torch.inference_mode, median of {args.repeats} after a warm-up"
    )
    results = []
    for variant in VARIANTS:
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--variant",
                variant,
                "--slices",
                str(args.slices),
                "--size",
                str(args.size),
                "--width",
                args.width,
                "--repeats",
                str(args.repeats),
                "--device",
                args.device,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(child.stdout))
        print(f"  {variant:22s} {results[-1]['seconds']:8.4f} s   {memory} {results[-1]['peak_mb']:7.0f} MB")
    print(f"  parameters {results[0]['parameters']:,}")
    best = min(results, key=lambda r: r["seconds"])
    print(f"  fastest: {best['variant']} ({results[0]['seconds'] / best['seconds']:.2f}x the plain network)")


if __name__ == "__main__":
    main()
