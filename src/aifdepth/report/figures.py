"""The paper's qualitative figures from saved predictions: one row per test sample, one
column per panel, one depth colour range (and colour bar) per figure."""

from dataclasses import replace
from pathlib import Path

import h5py
import matplotlib
import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_path
from ..stackfile import read_stacks
from .contents import FIGURES, Figure, Panel

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the file-only backend

DEPTH_COLOURS = "viridis"
ERROR_COLOURS = "magma"
DIFFERENCE_LABELS = {
    "aif_error": "|AiF error|, 0-1",
    "depth_change": "|depth change|, {unit}",
}


class Sources:
    """Loads each stack file and predictions file once."""

    def __init__(self, eval_root, stacks_root):
        self.eval_root, self.stacks_root = eval_root, stacks_root
        self._stacks, self._predictions = {}, {}

    def stacks(self, panel: Panel):
        path = panel.cell.stacks(self.stacks_root)
        if path not in self._stacks:
            self._stacks[path] = read_stacks(path)
        return self._stacks[path]

    def predictions(self, panel: Panel) -> dict[str, np.ndarray]:
        path = panel.cell.predictions(self.eval_root)
        if path not in self._predictions:
            if not Path(path).is_file():
                raise InputError(f"{path}: predictions missing; run `snakemake {path}` first")
            with h5py.File(path, "r") as f:
                self._predictions[path] = {key: f[key][()] for key in f if key in ("depth", "aif")}
        return self._predictions[path]

    def image(self, panel: Panel, sample: int) -> np.ndarray:
        stacks = self.stacks(panel)
        if panel.kind == "input":
            return stacks.stack[sample][stacks.stack.shape[1] // 2]
        if panel.kind == "depth_gt":
            return stacks.depth[sample]
        if panel.kind == "aif_gt":
            return self._ground_truth_aif(panel, sample)
        predictions = self.predictions(panel)
        if panel.kind == "depth":
            return predictions["depth"][sample]
        if panel.kind == "depth_change":
            reference = self.predictions(replace(panel, cell=panel.reference))["depth"][sample]
            return np.abs(predictions["depth"][sample] - reference)
        if "aif" not in predictions:
            raise InputError(f"{panel.cell.predictions(self.eval_root)}: no AiF image (model without attention)")
        if panel.kind == "aif":
            return predictions["aif"][sample]
        if panel.kind == "aif_error":
            error = np.abs(predictions["aif"][sample].astype(np.float32) - self._ground_truth_aif(panel, sample))
            return error.mean(axis=-1) / 255.0
        raise ValueError(f"unknown panel kind {panel.kind!r}")

    def _ground_truth_aif(self, panel: Panel, sample: int) -> np.ndarray:
        stacks = self.stacks(panel)
        if stacks.aif is None:
            raise InputError(f"{panel.cell.stacks(self.stacks_root)}: this dataset has no ground-truth AiF")
        return stacks.aif[sample]


def _range(values: list[np.ndarray]) -> tuple[float, float]:
    finite = np.concatenate([v[np.isfinite(v)].ravel() for v in values])
    return (float(np.percentile(finite, 1)), float(np.percentile(finite, 99))) if finite.size else (0.0, 1.0)


def colour_bar_extend(values: list[np.ndarray], low: float, high: float) -> str:
    """Matplotlib's `extend` for a colour bar: arrows at the ends where shown values are clipped."""
    finite = np.concatenate([v[np.isfinite(v)].ravel() for v in values])
    below, above = bool((finite < low).any()), bool((finite > high).any())
    return {(True, True): "both", (True, False): "min", (False, True): "max"}.get((below, above), "neither")


def figure_rows(figure: Figure, sources: Sources, scenes=None) -> list[tuple[str, list[Panel], int]]:
    """(label, panels, sample) per row: the first samples of one stack file, labelled with the test
    stack and sample name, or, for datasets stored one file per scene (test stacks named with
    `{scene}`), the first sample of each scene, labelled with the scene."""
    if figure.per_scene:
        if not scenes:
            raise InputError(f"{figure.title}: name the scenes to show (`aifdepth figure ... --scenes S1 S2`)")
        return [(scene, [panel.for_scene(scene) for panel in figure.panels], 0) for scene in scenes[: figure.samples]]
    names = sources.stacks(figure.panels[0]).names
    testset = figure.panels[0].cell.testset
    return [(f"{testset} sample {names[i]}", list(figure.panels), i) for i in range(min(figure.samples, len(names)))]


def draw(figure: Figure, sources: Sources, scenes=None):
    rows = figure_rows(figure, sources, scenes)
    samples = len(rows)
    images = [[sources.image(panel, sample) for panel in panels] for _, panels, sample in rows]
    depth_columns = [j for j, p in enumerate(figure.panels) if p.kind in ("depth", "depth_gt")]
    depth_range = _range([row[j] for row in images for j in depth_columns]) if depth_columns else None
    # Differences start at 0, up to their 99th percentile; at least one grey level (or 1 % of the
    # depth range) wide, so a perfect reconstruction or an unchanged depth stays black.
    floors = {"aif_error": 1 / 255, "depth_change": 0.01 * (depth_range[1] - depth_range[0]) if depth_range else 1e-6}
    difference_columns, difference_ranges = {}, {}
    for kind in DIFFERENCE_LABELS:
        columns_of_kind = [j for j, p in enumerate(figure.panels) if p.kind == kind]
        if columns_of_kind:
            top = _range([row[j] for row in images for j in columns_of_kind])[1]
            difference_columns[kind], difference_ranges[kind] = columns_of_kind, (0.0, max(top, floors[kind]))
    kind_of_column = {j: kind for kind, columns_of_kind in difference_columns.items() for j in columns_of_kind}
    height, width = images[0][0].shape[:2]
    columns = len(figure.panels)
    fig, axes = plt.subplots(  # cells of the images' aspect: no blank bands between rows
        samples,
        columns,
        squeeze=False,
        layout="constrained",
        figsize=(2.2 * columns * width / max(height, width) + 1.2, 2.2 * samples * height / max(height, width) + 0.7),
    )
    mappables = {}
    for i, row in enumerate(images):
        for j, (panel, image) in enumerate(zip(figure.panels, row)):
            axis = axes[i, j]
            if j in depth_columns:
                mappables["depth"] = axis.imshow(image, cmap=DEPTH_COLOURS, vmin=depth_range[0], vmax=depth_range[1])
            elif j in kind_of_column:
                low, high = difference_ranges[kind_of_column[j]]
                mappables[kind_of_column[j]] = axis.imshow(image, cmap=ERROR_COLOURS, vmin=low, vmax=high)
            else:
                axis.imshow(image)
            axis.set_xticks([])
            axis.set_yticks([])
            if i == 0:
                axis.set_title(panel.title, fontsize=9)
        axes[i, 0].set_ylabel(rows[i][0], fontsize=8)
    unit = sources.stacks(rows[0][1][0]).unit
    if "depth" in mappables:
        values = [row[j] for row in images for j in depth_columns]
        fig.colorbar(
            mappables["depth"],
            ax=axes[:, depth_columns].ravel().tolist(),
            shrink=0.8,
            extend=colour_bar_extend(values, *depth_range),
            label=f"{unit} (1st-99th percentile; arrows: clipped)",
        )
    for kind, columns_of_kind in difference_columns.items():
        values = [row[j] for row in images for j in columns_of_kind]
        fig.colorbar(
            mappables[kind],
            ax=axes[:, columns_of_kind].ravel().tolist(),
            shrink=0.8,
            extend=colour_bar_extend(values, *difference_ranges[kind]),
            label=DIFFERENCE_LABELS[kind].format(unit=unit) + " (up to its 99th percentile)",
        )
    synthetic = {sources.stacks(panel).source for _, panels, _ in rows for panel in panels} == {"synthetic"}
    fig.suptitle(
        figure.title + (" — synthetic stand-in data, not the published images" if synthetic else ""), fontsize=10
    )
    if figure.legend:
        fig.supxlabel(figure.legend, fontsize=8, wrap=True)
    return fig


def write_figure(name: str, eval_root, stacks_root, pdf_path, png_path, scenes=None) -> None:
    if name not in FIGURES:
        raise InputError(f"unknown figure {name!r}; figures: {', '.join(FIGURES)}")
    fig = draw(FIGURES[name], Sources(eval_root, stacks_root), scenes)
    for path, kind in ((pdf_path, "pdf"), (png_path, "png")):
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format=kind, dpi=150)
    plt.close(fig)
