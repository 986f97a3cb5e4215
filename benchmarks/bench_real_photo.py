"""Models trained on the embedded data, on a real photograph: Middlebury 2014 Motorcycle
(quarter size, 500x741, shipped by scikit-image with its GT disparity), defocused by the
layered renderer at aperture 0.15 into 15 slices in [10, 60]. Prints each model's MAE and
its ratio to the classical focus measure; asserts nothing.

    python benchmarks/bench_real_photo.py results/models/middlebury/{sup,unsup,classical}/model.pt
"""

import argparse
import json
import tempfile
from pathlib import Path

from aifdepth.evaluate import evaluate
from aifdepth.parallel import set_threads
from aifdepth.realphoto import APERTURE, real_photo_stack


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path, nargs="+", help="model files; one named classical is the reference")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the photograph and its disparity")
    parser.add_argument("--aperture", type=float, default=APERTURE)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    set_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        stack_file = Path(tmp) / "motorcycle.h5"
        real_photo_stack(stack_file, scale=args.scale, aperture=args.aperture)
        results = {}
        for model in args.models:
            metrics = evaluate(model, stack_file, Path(tmp) / "eval.json", device="cpu")["metrics"]
            results[str(model)] = {"mae": metrics["mae"], "rmse": metrics["rmse"], "badpix": metrics["badpix"]}
    reference = next((r["mae"] for m, r in results.items() if "classical" in m), None)
    print(f"Middlebury 2014 Motorcycle, scale {args.scale}, aperture {args.aperture}, 15 slices in [10, 60]")
    print("| model | MAE (px) | RMSE | BadPix | classical MAE / MAE |\n|---|---|---|---|---|")
    for model, r in results.items():
        ratio = f"{reference / r['mae']:.2f}x" if reference else ""
        print(f"| {model} | {r['mae']:.3f} | {r['rmse']:.3f} | {r['badpix']:.3f} | {ratio} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
