"""The claims report: the paper's claims C1-C11 and this package's own checks, each a list of
comparisons between two evaluations, judged with a 95 % interval.

A comparison names two table cells (a row of a table in `contents.TABLES`, the same
declarations that fill the tables) or two evaluations, a metric and the claimed direction.
Its number is the relative difference of the two means, (first - second) / second; its
interval comes from a paired bootstrap over the test images (and over training seeds where
the variants were also trained with other seeds). A comparison holds when the whole interval
lies on the claimed side of its bound, is contradicted when it lies wholly on the other side,
and is inconclusive otherwise; a claim holds when all its comparisons hold, is contradicted
when any is, and is inconclusive otherwise."""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_path
from .contents import METRICS, TABLES, Cell

SEED_MARK = ".seed"  # results/eval/{dataset}/{variant}.seedN/: the variant trained with seed N
RESAMPLES = 4000
BOOTSTRAP_SEED = 0
LEVEL = 0.95
VERDICTS = ("holds", "contradicted", "inconclusive")


def split_seed(variant: str) -> tuple[str, int | None]:
    """'sup_3d_att.seed1' -> ('sup_3d_att', 1); a plain variant name has no seed of its own."""
    base, mark, seed = variant.partition(SEED_MARK)
    return base, (int(seed) if mark else None)


@dataclass(frozen=True)
class Row:
    """One cell of a table: the row with these labels, in this column group."""

    table: str
    labels: tuple[str, ...]
    group: str = ""

    def cell(self) -> Cell:
        table = TABLES[self.table]
        for labels, cells in table.rows:
            if labels == self.labels:
                return cells[table.groups.index(self.group)]
        raise KeyError(f"{self.table} has no row {self.labels}")


@dataclass(frozen=True)
class Comparison:
    """`first` has a lower (or higher) `metric` than `second`: its relative difference
    (first - second) / second lies below (above) `bound`. `paper` holds the published pair."""

    label: str
    first: Row | Cell
    second: Row | Cell
    metric: str
    claimed: str = "lower"
    bound: float = 0.0
    paper: tuple[float, float] | None = None

    def cells(self) -> tuple[Cell, Cell]:
        return tuple(side.cell() if isinstance(side, Row) else side for side in (self.first, self.second))

    @property
    def paper_difference(self) -> float | None:
        return None if self.paper is None else (self.paper[0] - self.paper[1]) / self.paper[1]


@dataclass(frozen=True)
class Claim:
    key: str
    statement: str
    comparisons: tuple[Comparison, ...]

    @property
    def tables(self) -> tuple[str, ...]:
        sides = [side for c in self.comparisons for side in (c.first, c.second)]
        return tuple(dict.fromkeys(side.table for side in sides if isinstance(side, Row)))


def _t2(regime: str, test: str) -> Row:
    return Row("table2", (test,), regime)


def _t3(architecture: str, attention: str) -> Row:
    return Row("table3", (architecture, attention))


def _t4(supervised: str, size: str, smooth: str) -> Row:
    return Row("table4", (supervised, size, smooth))


T2_TESTS = ("3 (1, 5, 9)", "5 (1, 3, 5, 7, 9)", "9 (1, 2, ..., 9)")
T2_PAPER = {  # MAE of supp. Table 2 per regime, test stacks 3, 5, 9
    "Fixed 10": (0.7603, 0.2770, 0.0912),
    "Arbitrary 2~10": (0.2703, 0.1480, 0.1197),
    "Same as testing": (0.2274, 0.1663, 0.0953),
}
T3_PAPER = {("3D", "✓"): (0.0788, 0.0984), ("3D", ""): (0.0851, 0.077), ("2D", "✓"): (0.1070, 0.0488)}
T3_PAPER[("2D", "")] = (0.1179, 0.0441)  # (MAE, Secs.)
T4_PAPER = {("Yes", "10", ""): 0.0788, ("No", "10", ""): 0.2425, ("No", "37", ""): 0.2099}
T4_PAPER |= {("No", "10", "✓"): 0.1671, ("No", "37", "✓"): 0.1116}
T5_PAPER = {"mae": (0.0549, 0.0637), "mse": (0.0127, 0.0175), "rmse": (0.1043, 0.1207), "seconds": (0.018, 0.039)}

CLAIMS = (
    Claim(
        "C1",
        "Uniform stack sampling beats non-uniform",
        (
            Comparison(
                "MAE, uniform vs non-uniform",
                Row("table1", ("1, 3, 5, 7, 9",)),
                Row("table1", ("1, 2, 5, 6, 9",)),
                "mae",
                paper=(0.1663, 0.1811),
            ),
        ),
    ),
    Claim(
        "C2",
        "Training on a fixed 10-slice stack degrades at a 3-slice test stack vs training as tested",
        (
            Comparison(
                "MAE at 3, fixed 10 vs same as testing",
                _t2("Fixed 10", T2_TESTS[0]),
                _t2("Same as testing", T2_TESTS[0]),
                "mae",
                "higher",
                paper=(0.7603, 0.2274),
            ),
        ),
    ),
    Claim(
        "C3",
        "Arbitrary-size training beats fixed-10 training at test stacks 3 and 5",
        tuple(
            Comparison(
                f"MAE at {test[0]}, arbitrary vs fixed 10",
                _t2("Arbitrary 2~10", test),
                _t2("Fixed 10", test),
                "mae",
                paper=(T2_PAPER["Arbitrary 2~10"][k], T2_PAPER["Fixed 10"][k]),
            )
            for k, test in enumerate(T2_TESTS[:2])
        ),
    ),
    Claim(
        "C4",
        "Error falls as the test stack grows",
        tuple(
            Comparison(
                f"{regime}, MAE at {T2_TESTS[k + 1][0]} vs {T2_TESTS[k][0]}",
                _t2(regime, T2_TESTS[k + 1]),
                _t2(regime, T2_TESTS[k]),
                "mae",
                paper=(T2_PAPER[regime][k + 1], T2_PAPER[regime][k]),
            )
            for regime in T2_PAPER
            for k in range(2)
        ),
    ),
    Claim(
        "C5",
        "3D convolution beats 2D",
        tuple(
            Comparison(
                f"MAE 3D vs 2D, {'attention' if att else 'no attention'}",
                _t3("3D", att),
                _t3("2D", att),
                "mae",
                paper=(T3_PAPER[("3D", att)][0], T3_PAPER[("2D", att)][0]),
            )
            for att in ("✓", "")
        ),
    ),
    Claim(
        "C6",
        "2D is faster than 3D",
        tuple(
            Comparison(
                f"Secs. 2D vs 3D, {'attention' if att else 'no attention'}",
                _t3("2D", att),
                _t3("3D", att),
                "seconds",
                paper=(T3_PAPER[("2D", att)][1], T3_PAPER[("3D", att)][1]),
            )
            for att in ("✓", "")
        ),
    ),
    Claim(
        "C7",
        "Supervised beats unsupervised (AiF-supervised)",
        tuple(
            Comparison(
                f"MAE supervised vs AiF ({size}{', smoothness' if smooth else ''})",
                _t4("Yes", "10", ""),
                _t4("No", size, smooth),
                "mae",
                paper=(T4_PAPER[("Yes", "10", "")], T4_PAPER[("No", size, smooth)]),
            )
            for size in ("10", "37")
            for smooth in ("", "✓")
        ),
    ),
    Claim(
        "C8",
        "The smoothness loss helps unsupervised training at both stack sizes",
        tuple(
            Comparison(
                f"MAE at {size}, smoothness vs none",
                _t4("No", size, "✓"),
                _t4("No", size, ""),
                "mae",
                paper=(T4_PAPER[("No", size, "✓")], T4_PAPER[("No", size, "")]),
            )
            for size in ("10", "37")
        ),
    ),
    Claim(
        "C9",
        "The 37-slice stack helps unsupervised training",
        tuple(
            Comparison(
                f"MAE 37 vs 10{', smoothness' if smooth else ''}",
                _t4("No", "37", smooth),
                _t4("No", "10", smooth),
                "mae",
                paper=(T4_PAPER[("No", "37", smooth)], T4_PAPER[("No", "10", smooth)]),
            )
            for smooth in ("", "✓")
        ),
    ),
    Claim(
        "C10",
        "Ours beats DefocusNet on the DefocusNet dataset in MAE, MSE, RMSE and time",
        tuple(
            Comparison(
                f"{METRICS[metric][0]} ours vs DefocusNet",
                Row("table5", ("Ours",)),
                Row("table5", ("DefocusNet",)),
                metric,
                paper=T5_PAPER[metric],
            )
            for metric in ("mae", "mse", "rmse", "seconds")
        ),
    ),
    Claim(
        "C11",
        "AiF-supervised models reconstruct AiF images better (PSNR/SSIM) than depth-supervised ones",
        tuple(
            Comparison(
                f"{dataset} {METRICS[metric][0]}, AiF- vs depth-supervised",
                Row("aif_quality", (dataset, aif_row)),
                Row("aif_quality", (dataset, "depth")),
                metric,
                "higher",
            )
            for dataset, aif_row in (("4D Light Field", "AiF"), ("Middlebury", "AiF + smoothness"))
            for metric in ("psnr", "ssim")
        ),
    ),
)


def architecture(evaluations: "Evaluations", cell: Cell) -> str:
    return evaluations.summary(cell)["model_config"]["architecture"]


def is_ablation(model: dict) -> bool:
    """An AiFDepthNet of supplementary table 3 without one of its two parts, 3D convolution or
    attention. On the 4D Light Field data the paper's ablations all stay ahead of DefocusNet in
    MSE and RMSE (supplementary table 3 against main table 5)."""
    return model["architecture"] == "aifdepthnet" and (model.get("conv") == "2d" or not model.get("attention", True))


def package_checks(evaluations: "Evaluations") -> list[Comparison]:
    """This package's own checks among the evaluated cells with a ground truth: every trained
    AiFDepthNet beats the classical baseline on its test stack; the supervised 3D model by 2x on
    hci (relative difference below -50 %); the ablations (2D or without attention) beat DefocusNet
    where both are evaluated on one test stack; MAE at another aperture within 1.5x; MAE after our
    alignment within 1.2x of the truly aligned stack."""
    cells = {cell for cell in evaluations.cells() if math.isfinite(evaluations.summary(cell)["metrics"]["mae"])}
    ordered = sorted(cells, key=lambda c: (c.dataset, c.variant, c.testset))
    checks = []
    for cell in ordered:
        classical = Cell(cell.dataset, "classical", cell.testset)
        trained = architecture(evaluations, cell) == "aifdepthnet"
        if trained and cell != classical and classical in cells:
            checks.append(
                Comparison(f"{cell.dataset}/{cell.variant} beats classical on {cell.testset}", cell, classical, "mae")
            )
    for testset in ("val_10", "heldout_10"):
        ours, classical = Cell("hci", "sup_3d_att", testset), Cell("hci", "classical", testset)
        if {ours, classical} <= cells:
            checks.append(
                Comparison(f"hci/sup_3d_att 2x better than classical on {testset}", ours, classical, "mae", bound=-0.5)
            )
    defocusnet = {(c.dataset, c.testset): c for c in ordered if architecture(evaluations, c) == "defocusnet"}
    for cell in ordered:
        rival = defocusnet.get((cell.dataset, cell.testset))
        if rival and is_ablation(evaluations.summary(cell)["model_config"]):
            label = f"{cell.dataset}/{cell.variant} (ablation) beats DefocusNet on {cell.testset}"
            checks.append(Comparison(label, cell, rival, "mae"))
    for cell in ordered:
        nominal = Cell(cell.dataset, cell.variant, "test_15")
        if (cell.dataset, cell.variant) == ("middlebury", "sup") and "aperture" in cell.testset and nominal in cells:
            label = f"middlebury/sup on {cell.testset} within 1.5x of test_15"
            checks.append(Comparison(label, cell, nominal, "mae", bound=0.5))
        aligned = Cell(cell.dataset, cell.variant, cell.testset.replace("_realigned", "_aligned"))
        if cell.testset.endswith("_realigned") and aligned in cells:
            label = f"{cell.dataset}/{cell.variant} on {cell.testset} within 1.2x of aligned"
            checks.append(Comparison(label, cell, aligned, "mae", bound=0.2))
    return checks


@dataclass
class Judgement:
    comparison: Comparison
    means: tuple[float, float]
    difference: float
    interval: tuple[float, float]
    images: int
    seeds: tuple[int, int]
    verdict: str


class Evaluations:
    """Per-image values of every evaluation JSON given, by cell and training seed."""

    def __init__(self, paths, default_seed: int = 0):
        self.paths: dict[Cell, dict[int, Path]] = {}
        self._values: dict[Path, dict] = {}
        for path in map(Path, paths):
            base, seed = split_seed(path.parent.name)
            cell = Cell(path.parent.parent.name, base, path.stem)
            self.paths.setdefault(cell, {})[default_seed if seed is None else seed] = path

    def cells(self) -> set[Cell]:
        return set(self.paths)

    def _read(self, path: Path) -> dict:
        if path not in self._values:
            self._values[path] = json.loads(path.read_text())
        return self._values[path]

    def summary(self, cell: Cell) -> dict:
        """The evaluation JSON of the cell's first seed."""
        return self._read(min(self.paths[cell].items())[1])

    def per_image(self, cell: Cell, metric: str) -> dict[int, tuple[list[str], np.ndarray, Path]]:
        """seed -> (image names, values, file) of one metric."""
        if cell not in self.paths:
            raise InputError(f"{cell.evaluation()}: evaluation missing; run `snakemake {cell.evaluation()}`")
        out = {}
        for seed, path in sorted(self.paths[cell].items()):
            rows = self._read(path).get("per_image") or []
            if not rows or any(metric not in row for row in rows):
                raise InputError(
                    f"{path}: no per-image '{metric}' (written by an older aifdepth); "
                    f"re-create it with `snakemake --forcerun {path}`"
                )
            out[seed] = ([row["name"] for row in rows], np.array([row[metric] for row in rows], float), path)
        return out


def _paired_values(first: dict, second: dict) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, images) arrays of both sides on their common, finite images, in one image order."""
    names_a, _, path_a = next(iter(first.values()))
    for names, path in [(v[0], v[2]) for v in (*first.values(), *second.values())]:
        if sorted(names) != sorted(names_a):
            raise InputError(
                f"{path} and {path_a}: evaluated on different images ({len(names)} vs {len(names_a)}); "
                "a comparison pairs the same test images"
            )
    order = {name: k for k, name in enumerate(names_a)}

    def aligned(side):
        return np.stack([values[np.argsort([order[n] for n in names])] for names, values, _ in side.values()])

    a, b = aligned(first), aligned(second)
    finite = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0)
    return a[:, finite], b[:, finite]


def bootstrap_difference(first: np.ndarray, second: np.ndarray, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED):
    """Relative difference of the means of (seeds, images) arrays, (first - second) / second, and
    its percentile interval at LEVEL: images are resampled in pairs (the same images on both
    sides), each side's training seeds independently (they are separate trainings)."""
    first, second = np.atleast_2d(first), np.atleast_2d(second)
    images = first.shape[1]
    if images == 0:
        raise InputError("no test image with a finite value on both sides of the comparison")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, images, (resamples, images))
    means = []
    for side in (first, second):
        per_seed = side[:, picks].mean(axis=2)  # (seeds, resamples)
        seeds = rng.integers(0, len(side), (resamples, len(side)))
        means.append(per_seed[seeds, np.arange(resamples)[:, None]].mean(axis=1))
    differences = (means[0] - means[1]) / means[1]
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    point = (first.mean() - second.mean()) / second.mean()
    return float(point), (float(low), float(high))


def verdict_of(interval: tuple[float, float], claimed: str, bound: float = 0.0) -> str:
    low, high = interval
    if claimed == "lower":
        return "holds" if high < bound else "contradicted" if low > bound else "inconclusive"
    return "holds" if low > bound else "contradicted" if high < bound else "inconclusive"


def claim_verdict(verdicts: list[str]) -> str:
    if all(v == "holds" for v in verdicts):
        return "holds"
    return "contradicted" if "contradicted" in verdicts else "inconclusive"


def judge(comparison: Comparison, evaluations: Evaluations) -> Judgement:
    first_cell, second_cell = comparison.cells()
    first = evaluations.per_image(first_cell, comparison.metric)
    second = evaluations.per_image(second_cell, comparison.metric)
    a, b = _paired_values(first, second)
    difference, interval = bootstrap_difference(a, b)
    return Judgement(
        comparison,
        (float(a.mean()), float(b.mean())),
        difference,
        interval,
        a.shape[1],
        (len(a), len(b)),
        verdict_of(interval, comparison.claimed, comparison.bound),
    )


def markdown_cell(text: str) -> str:
    """Text for a GitHub-flavoured Markdown table cell: a pipe would end the cell, and two tildes
    (`2~10 ... 2~10`) would strike out what lies between them."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("~", "\\~")


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _percent(value: float) -> str:
    return f"{100 * value:+.1f} %"


def _judgement_row(key: str, j: Judgement) -> str:
    c = j.comparison
    side = "<" if c.claimed == "lower" else ">"
    claimed = f"{side} {_percent(c.bound)}" if c.bound else f"{side} 0"
    seeds = "" if j.seeds == (1, 1) else f", seeds {j.seeds[0]} / {j.seeds[1]}"
    texts = (
        key,
        c.label,
        f"{j.means[0]:.4g} vs {j.means[1]:.4g} ({j.images} image{'s' if j.images != 1 else ''}{seeds})",
        f"{_percent(j.difference)} [{_percent(j.interval[0])}, {_percent(j.interval[1])}]",
        claimed,
        "–" if c.paper_difference is None else _percent(c.paper_difference),
    )
    return _row(*map(markdown_cell, texts), f"**{j.verdict}**")


HEADER = ["| Claim | Comparison | Ours (means) | Relative difference [95 %] | Claimed | Paper | Verdict |"]
HEADER.append("|---|---|---|---|---|---|---|")


def judge_all(table_names, evaluations: Evaluations) -> tuple[list[tuple[Claim, list[Judgement]]], list[Judgement]]:
    """The claims whose tables are all among `table_names`, judged, and the package checks."""
    judged = [claim for claim in CLAIMS if set(claim.tables) <= set(table_names)]
    claims = [(claim, [judge(c, evaluations) for c in claim.comparisons]) for claim in judged]
    checks = [judge(c, evaluations) for c in package_checks(evaluations)]
    return claims, checks


def seed_spread(evaluations: Evaluations) -> list[str]:
    """Markdown rows: MAE per training seed of each evaluation trained with several seeds."""
    rows = []
    for cell in sorted(evaluations.cells(), key=lambda c: (c.dataset, c.variant, c.testset)):
        per_seed = evaluations.per_image(cell, "mae")
        if len(per_seed) > 1:
            means = {seed: float(np.nanmean(values)) for seed, (_, values, _) in per_seed.items()}
            texts = (
                f"{cell.dataset}/{cell.variant}",
                cell.testset,
                ", ".join(f"{seed}: {mae:.4f}" for seed, mae in means.items()),
                f"{np.mean(list(means.values())):.4f} ± {np.std(list(means.values())):.4f}",
            )
            rows.append(_row(*map(markdown_cell, texts)))
    return rows


def markdown_to_html(markdown: str, title: str) -> str:
    """A GitHub-flavoured Markdown report as one HTML page (tables, emphasis, escapes)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)
    style = (
        "body { font-family: sans-serif; font-size: 13px; } table { border-collapse: collapse; } "
        "th, td { padding: 3px 8px; border-bottom: 1px solid #ccc; text-align: left; }"
    )
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title><style>{style}</style></head>\n<body>\n{body}</body></html>\n'


def write_claims(table_names, evaluation_paths, out_path, figure_paths=(), html_path=None) -> list[tuple[str, str]]:
    """claims.md (and the figure) for the claims whose tables this config builds; the others are
    listed as not judged. Returns (claim, verdict) of the judged ones."""
    table_names = [Path(name).stem for name in table_names]
    evaluations = Evaluations(evaluation_paths)
    claims, checks = judge_all(table_names, evaluations)
    verdicts = [(claim.key, claim_verdict([j.verdict for j in judgements])) for claim, judgements in claims]
    lines = [
        "# Claims report",
        "",
        "Each comparison's number is the relative difference of the two means, (first - second) / second, with a "
        f"{LEVEL:.0%} interval from a paired bootstrap over the test images ({RESAMPLES} resamples, seed "
        f"{BOOTSTRAP_SEED}; training seeds resampled too where there are several). A comparison **holds** when its "
        "whole interval lies on the claimed side, is **contradicted** when it lies wholly on the other side, and is "
        "**inconclusive** otherwise; a claim holds when all its comparisons hold and is contradicted when any is.",
        "",
        "## Claims of the paper",
        "",
        *HEADER,
    ]
    for claim, judgements in claims:
        cells = {cell for c in claim.comparisons for cell in c.cells()}
        sources = "/".join(sorted({evaluations.summary(cell)["source"] for cell in cells}))
        data = f"data: {', '.join(claim.tables)} ({sources})"
        verdict = claim_verdict([j.verdict for j in judgements])
        lines.append(_row(*map(markdown_cell, (claim.key, claim.statement, data)), "", "", "", f"claim {verdict}"))
        lines += [_judgement_row(claim.key, j) for j in judgements]
    for claim in CLAIMS:
        if claim.key not in dict(verdicts):
            missing = ", ".join(sorted(set(claim.tables) - set(table_names)))
            texts = (claim.key, claim.statement, f"{missing} not built by this config", "", "", "", "not judged")
            lines.append(_row(*map(markdown_cell, texts)))
    lines += ["", "## Verdicts", "", "| Claim | Verdict |", "|---|---|"]
    lines += [_row(key, f"**{verdict}**") for key, verdict in verdicts]
    lines += ["", "## Checks of this package", "", *HEADER]
    lines += [_judgement_row("check", j) for j in checks]
    spread = seed_spread(evaluations)
    if spread:
        lines += ["", "## MAE over training seeds", "", "| Variant | Test stack | MAE per seed | Mean ± std |"]
        lines += ["|---|---|---|---|", *spread]
    counts = {v: sum(verdict == v for _, verdict in verdicts) for v in VERDICTS}
    check_counts = {v: sum(j.verdict == v for j in checks) for v in VERDICTS}
    lines += [
        "",
        f"Claims: {counts['holds']} hold, {counts['contradicted']} contradicted, {counts['inconclusive']} inconclusive "
        f"(of {len(verdicts)} judged). Checks: {check_counts['holds']} hold, {check_counts['contradicted']} "
        f"contradicted, {check_counts['inconclusive']} inconclusive.",
        "",
        "Conditions behind these numbers: each variant trained for the length set in config.yaml (`training:`), "
        "the compact network unless a variant says otherwise; the paper trained the paper-size network far longer "
        "on a GPU. The intervals cover the test images and, where `seed_runs:` trained them again "
        "(`snakemake --cores 8 seeds`), the training seeds; one seed understates the spread.",
        "",
    ]
    with atomic_path(Path(out_path)) as tmp:
        tmp.write_text("\n".join(lines))
    if html_path is not None:
        with atomic_path(Path(html_path)) as tmp:
            tmp.write_text(markdown_to_html("\n".join(lines), "Claims report"))
    if figure_paths:
        from .claims_figure import draw_claims

        draw_claims(
            [(claim.key, j) for claim, js in claims for j in js] + [("checks", j) for j in checks], figure_paths
        )
    return verdicts
