"""Seed spread of the claims that hinge on small differences (C5, C8, C9): the same variants
trained with other seeds, their MAE per seed, and each claim's verdict per seed."""

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path

SEED_MARK = ".seed"

# claim -> [(description, (variant, test stack) that should have the lower MAE, the other)]
COMPARISONS = {
    "C5": [("3D vs 2D, attention", ("sup_3d_att", "val_10"), ("sup_2d_att", "val_10"))],
    "C8": [
        ("smoothness vs none at 10", ("unsup_10_smooth", "val_10"), ("unsup_10", "val_10")),
        ("smoothness vs none at 37", ("unsup_37_smooth", "val_37"), ("unsup_37", "val_37")),
    ],
    "C9": [
        ("37 vs 10", ("unsup_37", "val_37"), ("unsup_10", "val_10")),
        ("37 vs 10, smoothness", ("unsup_37_smooth", "val_37"), ("unsup_10_smooth", "val_10")),
    ],
}


def split_seed(variant: str) -> tuple[str, int | None]:
    """'sup_3d_att.seed1' -> ('sup_3d_att', 1); a plain variant name has no seed of its own."""
    base, mark, seed = variant.partition(SEED_MARK)
    return base, (int(seed) if mark else None)


def read_mae(evaluation_paths, default_seed: int = 0) -> dict[tuple[str, str], dict[int, float]]:
    """(variant, test stack) -> {seed: MAE} from paths .../{dataset}/{variant[.seedN]}/{test}.json."""
    mae = defaultdict(dict)
    for path in map(Path, evaluation_paths):
        base, seed = split_seed(path.parent.name)
        mae[(base, path.stem)][default_seed if seed is None else seed] = json.loads(path.read_text())["metrics"]["mae"]
    return mae


def write_seed_report(evaluation_paths, out_path, default_seed: int = 0) -> dict[str, list[bool]]:
    """Markdown: MAE per variant and seed (mean ± std), then per claim its verdict per seed."""
    mae = read_mae(evaluation_paths, default_seed)
    lines = [
        "# Seed spread",
        "",
        f"MAE of each variant trained with several seeds (the default run is seed {default_seed}).",
        "",
        "| Variant | Test stack | MAE per seed | Mean ± std |",
        "|---|---|---|---|",
    ]
    for (variant, test), per_seed in sorted(mae.items()):
        values = [per_seed[s] for s in sorted(per_seed)]
        seeds = ", ".join(f"{s}: {per_seed[s]:.4f}" for s in sorted(per_seed))
        lines.append(f"| {variant} | {test} | {seeds} | {np.mean(values):.4f} ± {np.std(values):.4f} |")
    lines += ["", "| Claim | Comparison | Holds for seeds | Verdict over seeds |", "|---|---|---|---|"]
    verdicts = {}
    for claim, comparisons in COMPARISONS.items():
        per_seed_holds = []
        for description, lower, higher in comparisons:
            seeds = sorted(set(mae.get(lower, {})) & set(mae.get(higher, {})))
            holds = [mae[lower][s] < mae[higher][s] for s in seeds]
            per_seed_holds.append(dict(zip(seeds, holds)))
            lines.append(
                f"| {claim} | {description} | {sum(holds)} of {len(holds)} | "
                f"{'holds' if holds and all(holds) else 'does not hold'} |"
            )
        verdicts[claim] = [all(h.get(s, False) for h in per_seed_holds) for s in sorted(per_seed_holds[0])]
    with atomic_path(Path(out_path)) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return verdicts
