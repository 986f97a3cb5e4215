"""Time the focal-stack alignment on a synthetic stack with known breathing and motion, and print its accuracy.

The stack is built like the tests': a textured image blurred from sigma 0 to 3 over the slices, each slice then
captured through a scale about the centre (focus breathing), a small rotation and a translation.

    PYTHONPATH=src python benchmarks/bench_align.py [--size 640 480] [--slices 10]
"""

import argparse
import statistics
import time

import cv2
import numpy as np

from aifdepth.align import MOTIONS, align_stack, corner_error


def textured_image(rng, width, height):
    noise = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 1.5)
    image = 40 + 170 * (noise - noise.min()) / (noise.max() - noise.min())
    for _ in range(12):
        left, top = int(rng.integers(0, width)), int(rng.integers(0, height))
        right, bottom = left + int(rng.integers(10, width // 3)), top + int(rng.integers(10, height // 3))
        cv2.rectangle(image, (left, top), (right, bottom), [float(c) for c in rng.uniform(0, 255, 3)], -1)
    return image


def focal_stack(rng, width, height, slices, max_blur, breathing, motion, rotation_deg):
    """Captured slices and their true reference -> slice transforms (slice k = warpAffine(aligned k, M_k))."""
    sharp = textured_image(rng, width, height)
    centre = ((width - 1) / 2, (height - 1) / 2)
    captured, truths = [], []
    for k in range(slices):
        sigma = max_blur * k / (slices - 1)
        aligned = np.clip(cv2.GaussianBlur(sharp, (0, 0), sigma) if sigma else sharp, 0, 255).astype(np.uint8)
        matrix = np.eye(3)
        if k:
            angle = float(rng.uniform(-rotation_deg, rotation_deg))
            matrix[:2] = cv2.getRotationMatrix2D(centre, angle, 1.0 + breathing * k / (slices - 1))
            matrix[:2, 2] += rng.uniform(-motion, motion, 2)
        captured.append(
            cv2.warpAffine(aligned, matrix[:2], (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        )
        truths.append(matrix)
    return captured, truths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"))
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--max-blur", type=float, default=3.0, help="Gaussian sigma of the last slice, pixels")
    parser.add_argument("--breathing", type=float, default=0.03, help="scale change of the last slice")
    parser.add_argument("--motion", type=float, default=10.0, help="largest translation per axis, pixels")
    parser.add_argument("--rotation", type=float, default=0.5, help="largest rotation, degrees")
    parser.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up; the median is printed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    width, height = args.size
    slices, truths = focal_stack(
        np.random.default_rng(args.seed),
        width,
        height,
        args.slices,
        args.max_blur,
        args.breathing,
        args.motion,
        args.rotation,
    )
    print(
        f"align {args.slices} slices of {width}x{height}: blur sigma 0..{args.max_blur}, breathing "
        f"{args.breathing:.0%}, translation up to {args.motion} px, rotation up to {args.rotation} deg, "
        f"OpenCV threads {cv2.getNumThreads()}"
    )
    for motion in MOTIONS:
        alignment = align_stack(slices, motion=motion)  # warm-up
        seconds = []
        for _ in range(args.runs):
            start = time.perf_counter()
            alignment = align_stack(slices, motion=motion)
            seconds.append(time.perf_counter() - start)
        errors = [
            corner_error(estimated, true, (height, width))
            for estimated, true in zip(alignment.transforms[1:], truths[1:], strict=True)
        ]
        print(
            f"  {motion:10s}  {statistics.median(seconds):6.2f} s (median of {args.runs})   corner error of slices "
            f"1..{args.slices - 1}: mean {np.mean(errors):.3f} px, max {np.max(errors):.3f} px   "
            f"warnings {len(alignment.warnings)}"
        )


if __name__ == "__main__":
    main()
