"""Our Middlebury stacks against the authors' (Middlebury_FS, Barron et al. 2015's renderer), for
users who have their files: the PSNR of each slice, scene by scene, and with --model the MAE of
one model on each renderer's stacks of the same scenes. Asserts nothing.

    snakemake --cores 8 results/stacks/middlebury/test_15.h5 results/stacks/middlebury_fs/test.h5
    python benchmarks/bench_authors_stacks.py results/stacks/middlebury/test_15.h5 \\
        results/stacks/middlebury_fs/test.h5 --model results/models/middlebury/sup/model.pt
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from aifdepth.evaluate import evaluate
from aifdepth.parallel import set_threads
from aifdepth.stackdiff import common_scenes, only, slice_psnr
from aifdepth.stackfile import read_stacks, write_stacks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ours", type=Path, help="our stack file of the scenes (e.g. middlebury/test_15.h5)")
    parser.add_argument("theirs", type=Path, help="the authors' stacks of the same scenes (middlebury_fs/test.h5)")
    parser.add_argument("--model", type=Path, help="a model file to score on both")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    set_threads(args.threads)
    ours, theirs = read_stacks(args.ours), read_stacks(args.theirs)
    scenes = slice_psnr(ours, theirs)
    print(f"PSNR (dB) of our slices against the authors', {len(scenes)} scenes\n")
    print("| scene | mean | min | max |\n|---|---|---|---|")
    for name, values in scenes.items():
        print(f"| {name} | {np.mean(values):.2f} | {np.min(values):.2f} | {np.max(values):.2f} |")
    per_slice = np.mean(list(scenes.values()), axis=0)
    print("\nper slice, mean over scenes: " + " ".join(f"{v:.1f}" for v in per_slice))
    if args.model:
        names = common_scenes(ours, theirs)
        with tempfile.TemporaryDirectory() as tmp:
            for label, stacks in (("ours", ours), ("theirs", theirs)):
                subset = Path(tmp) / f"{label}.h5"
                write_stacks(subset, only(stacks, names))
                mae = evaluate(args.model, subset, Path(tmp) / f"{label}.json", device="cpu")["metrics"]["mae"]
                print(f"{args.model} on {label} stacks of the {len(names)} scenes: MAE {mae:.3f}")


if __name__ == "__main__":
    main()
