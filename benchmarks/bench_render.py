"""Time the focal-stack renderers on synthetic scenes and print the figures.

Refocus: reference vs fast on a U x U x N x N light field (textured planes, a
hard-edged occluder and a small saturated highlight), with their agreement; then
`aifdepth refocus` on the same views written as an HCI scene (81 PNGs in, the stack
file out), as a new process and called in-process, against the kernel on those views.
Defocus: a 15-slice stack of a W x H RGB-D image with disparities in [10, 60].

    PYTHONPATH=src python benchmarks/bench_render.py [--size 512] [--slices 10]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from aifdepth.cli import main as aifdepth_main
from aifdepth.datasets.hci import write_scene
from aifdepth.io.images import to_uint8
from aifdepth.render.defocus import defocus_stack
from aifdepth.render.refocus import refocus, refocus_reference


def texture(rng, height, width, low, high, sigma=2.0):
    noise = ndimage.gaussian_filter(rng.random((height, width, 3)), (sigma, sigma, 0))
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return (low + (high - low) * noise).astype(np.float32)


def light_field(size, grid, seed):
    """Back-to-front layers (colour, coverage, disparity) seen from every view, hard-edged."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size]
    occluder = (np.abs(rows - 0.45 * size) < 0.18 * size) & (np.abs(cols - 0.4 * size) < 0.22 * size)
    highlight = (rows - 0.35 * size) ** 2 + (cols - 0.3 * size) ** 2 < (0.03 * size) ** 2
    layers = [
        (texture(rng, size, size, 0.05, 0.95, 3.0), np.ones((size, size)), -0.8),
        (texture(rng, size, size, 0.1, 0.9, 1.5), occluder, 1.2),
        (np.ones((size, size, 3), np.float32), highlight, 1.2),
    ]
    grid_rows, grid_cols = np.mgrid[0:size, 0:size].astype(np.float32)
    offsets = np.arange(grid) - (grid - 1) / 2
    views = np.empty((grid, grid, size, size, 3), np.float32)
    for u, du in enumerate(offsets):
        for v, dv in enumerate(offsets):
            view = np.zeros((size, size, 3), np.float32)
            for colour, coverage, disparity in layers:
                map_cols, map_rows = grid_cols + np.float32(dv * disparity), grid_rows + np.float32(du * disparity)
                seen = cv2.remap(colour, map_cols, map_rows, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
                covered = cv2.remap(
                    coverage.astype(np.float32), map_cols, map_rows, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE
                )
                view = np.where(covered[..., None] > 0.5, np.clip(seen, 0, 1), view)
            views[u, v] = view
    return views


def rgbd(width, height, seed):
    """A ground plane receding from disparity 60 (bottom) to 10 (top), a slanted wall and a near disc."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    disparity = 10.0 + 50.0 * rows / (height - 1)
    wall = (np.abs(cols - 0.35 * width) < 0.2 * width) & (rows < 0.7 * height)
    disparity[wall] = (25.0 + 15.0 * cols / width)[wall]
    disc = (rows - 0.3 * height) ** 2 + (cols - 0.75 * width) ** 2 < (0.15 * height) ** 2
    disparity[disc] = 55.0
    return texture(rng, height, width, 0.0, 1.0, 1.5), disparity


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def time_cli(views, disparities, repeats=3):
    """The command's own costs (start-up, 81 PNG reads, uint8 and HDF5 out) beside the kernel's."""
    quantised = to_uint8(views)
    size = quantised.shape[2]
    with tempfile.TemporaryDirectory() as folder:
        scene = Path(folder) / "scene"
        write_scene(scene, quantised, np.zeros((size, size), np.float32), (-2.0, 2.0))
        command = ["refocus", str(scene), "--disparities", *map(str, disparities), "--out", f"{folder}/stack.h5"]
        aifdepth_main(command)  # warm: imports and caches
        runs = {
            "kernel": lambda: refocus(quantised, disparities),
            "in-process": lambda: aifdepth_main(command),
            "new process": lambda: subprocess.run([sys.executable, "-m", "aifdepth.cli", *command], check=True),
        }
        best = {name: min(timed(run)[1] for _ in range(repeats)) for name, run in runs.items()}
    kernel, in_process, new_process = best.values()
    print(f"aifdepth refocus, {quantised.shape[0]}x{quantised.shape[1]} PNGs of {size}x{size}, best of {repeats}")
    print(f"  kernel on the same views {kernel:8.2f} s")
    print(f"  command, in-process      {in_process:8.2f} s   ({in_process / kernel:.2f}x the kernel)")
    print(f"  command, new process     {new_process:8.2f} s   ({new_process / kernel:.2f}x the kernel)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="light-field view size in pixels")
    parser.add_argument("--grid", type=int, default=9, help="views per light-field side")
    parser.add_argument("--slices", type=int, default=10, help="refocus slices")
    parser.add_argument("--defocus-size", type=int, nargs=2, default=(741, 500), metavar=("W", "H"))
    parser.add_argument("--defocus-slices", type=int, default=15)
    parser.add_argument("--max-blur", type=float, default=17.5, help="largest defocus blur radius, pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    views = light_field(args.size, args.grid, args.seed)
    disparities = np.linspace(-2.0, 2.0, args.slices) + 0.037  # off the integer shifts
    # Best of several runs: a single run of either swings by a fifth from one to the next here.
    fast, first = timed(refocus, views, disparities)
    warm = min(timed(refocus, views, disparities)[1] for _ in range(5))
    reference, reference_seconds = timed(refocus_reference, views, disparities)
    reference_seconds = min(reference_seconds, timed(refocus_reference, views, disparities)[1])
    grey_levels = np.abs(fast - reference) * 255
    print(f"refocus {args.grid}x{args.grid}x{args.size}x{args.size}x3, {args.slices} slices")
    print(f"  reference (float64)  {reference_seconds:8.2f} s   (best of 2)")
    print(f"  fast (float32)       {warm:8.2f} s   (best of 5; first call {first:.2f} s)")
    print(f"  speed-up             {reference_seconds / warm:8.1f} x   (first call {reference_seconds / first:.1f} x)")
    print(
        f"  within 1 grey level  {100 * np.mean(grey_levels <= 1):8.4f} % of values, "
        f"max |diff| {grey_levels.max():.2f} grey levels"
    )

    time_cli(views, disparities)

    width, height = args.defocus_size
    image, disparity = rgbd(width, height, args.seed)
    focus = np.linspace(10.0, 60.0, args.defocus_slices)
    aperture = args.max_blur / (disparity.max() - disparity.min())
    _, first = timed(defocus_stack, image, disparity, focus, aperture)
    seconds = min(timed(defocus_stack, image, disparity, focus, aperture)[1] for _ in range(3))
    print(f"defocus {width}x{height}, {args.defocus_slices} slices, max blur radius {args.max_blur} px")
    print(f"  seconds              {seconds:8.2f} s   (best of 3; first call {first:.2f} s)")


if __name__ == "__main__":
    main()
