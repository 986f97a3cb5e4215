"""Training recipes side by side on hci: for each recipe, steps and crops per CPU second, then
the held-out MAE after the same CPU-time budget (steps = budget x the measured step rate, so the
learning-rate schedule spans the whole budget). Prints a table (and --csv writes it, with each
recipe's MAE after every budget for the figure); asserts nothing.

    python benchmarks/bench_training.py --train results/stacks/hci/train_10.h5 \
        --test results/stacks/hci/val_10.h5 results/stacks/hci/heldout_10.h5 --budget 60 120

Run it with nothing else on the machine: the figures are CPU seconds of this process."""

import argparse
import csv
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from aifdepth.evaluate import evaluate
from aifdepth.models import ModelConfig
from aifdepth.parallel import set_threads
from aifdepth.settings import LossWeights
from aifdepth.train import TrainSettings, train

BASE_MODEL = ModelConfig(architecture="aifdepthnet", conv="3d", attention=True)
BASE_SETTINGS = TrainSettings(
    steps=200, batch_size=3, crop=64, learning_rate=1e-3, checkpoint_every=10**9, loss=LossWeights(supervised=1.0)
)

# name -> (model changes, training changes); each lever alone on top of the previous default
RECIPES = {
    "fp32, lr 1e-3 (the previous default)": ({}, {}),
    "bf16 autocast": ({}, {"precision": "bf16"}),
    "bf16 + warm-up 20": ({}, {"precision": "bf16", "warmup_steps": 20}),
    "bf16 + lr 2e-3 + warm-up": ({}, {"precision": "bf16", "warmup_steps": 20, "learning_rate": 2e-3}),
    "bf16 + batch 6 crop 48": ({}, {"precision": "bf16", "batch_size": 6, "crop": 48}),
    "bf16 + focus channel": ({"focus_input": True}, {"precision": "bf16"}),
    "bf16 + focus channel + lr 2e-3 (default)": ({"focus_input": True}, {"precision": "bf16", "learning_rate": 2e-3}),
}


def step_rate(model: ModelConfig, settings: TrainSettings, train_stacks: Path, work: Path) -> float:
    """Steps per CPU second, from a short run after 3 warm-up steps."""
    probe = replace(settings, steps=3, batch_norm_batches=0)
    train(model, train_stacks, work / "warm.pt", work / "warm.csv", probe)
    probe = replace(settings, steps=15, batch_norm_batches=0)
    start = time.process_time()
    train(model, train_stacks, work / "probe.pt", work / "probe.csv", probe)
    return probe.steps / (time.process_time() - start)


def run_recipe(name, model, settings, train_stacks, tests, budgets, work) -> list[dict]:
    rate = step_rate(model, settings, train_stacks, work)
    rows = []
    for budget in budgets:
        steps = max(10, round(budget * rate))
        path = work / f"{abs(hash((name, budget)))}.pt"
        start = time.process_time()
        train(model, train_stacks, path, path.with_suffix(".csv"), replace(settings, steps=steps))
        cpu = time.process_time() - start
        row = {
            "recipe": name,
            "budget_cpu_s": budget,
            "steps": steps,
            "train_cpu_s": round(cpu, 1),
            "steps_per_cpu_s": round(rate, 3),
            "crops_per_cpu_s": round(rate * settings.batch_size, 2),
        }
        row.update(test_maes(path, tests, work))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def test_maes(model_path: Path, tests: list[Path], work: Path) -> dict:
    return {
        f"mae_{test.stem}": round(evaluate(model_path, test, work / "eval.json", device="cpu")["metrics"]["mae"], 4)
        for test in tests
    }


def classical_row(train_stacks, tests, work) -> dict:
    path = work / "classical.pt"
    train(ModelConfig(architecture="classical"), train_stacks, path, work / "classical.csv", BASE_SETTINGS)
    row = {
        "recipe": "classical focus measure",
        "budget_cpu_s": 0,
        "steps": 0,
        "train_cpu_s": 0,
        "steps_per_cpu_s": "",
        "crops_per_cpu_s": "",
    }
    row.update(test_maes(path, tests, work))
    print(json.dumps(row), flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, required=True, help="training stack file (hci train_10)")
    parser.add_argument("--test", type=Path, nargs="+", required=True, help="test stack files (val_10, heldout_10)")
    parser.add_argument("--budget", type=float, nargs="+", default=[60.0], help="training CPU seconds per run")
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", type=Path, help="also write the rows here")
    parser.add_argument("--figure", type=Path, help="plot held-out MAE against training CPU seconds (PNG)")
    args = parser.parse_args()
    set_threads(args.threads)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, seed {args.seed}, train {args.train}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows.append(classical_row(args.train, args.test, work))
        for name in args.recipes:
            model_changes, settings_changes = RECIPES[name]
            model = replace(BASE_MODEL, **model_changes)
            settings = replace(BASE_SETTINGS, seed=args.seed, **settings_changes)
            rows += run_recipe(name, model, settings, args.train, args.test, args.budget, work)
    columns = list(rows[-1])
    print("\n| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            writer.writerows(rows)
    if args.figure:
        plot(rows, f"mae_{args.test[-1].stem}", args.figure)


def plot(rows: list[dict], column: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name in dict.fromkeys(row["recipe"] for row in rows if row["budget_cpu_s"]):
        own = [row for row in rows if row["recipe"] == name]
        axes.plot([row["train_cpu_s"] for row in own], [row[column] for row in own], "o-", label=name)
    classical = next(row[column] for row in rows if not row["budget_cpu_s"])
    axes.axhline(classical, color="grey", linestyle="--", label="classical focus measure")
    axes.axhline(classical / 2, color="grey", linestyle=":", label="2x better than classical")
    axes.set_xlabel("training CPU seconds")
    axes.set_ylabel(f"MAE ({column.removeprefix('mae_')})")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
