"""The paper's tables from evaluation JSONs: booktabs LaTeX with the best value per column in
bold, and the same numbers as CSV (plus each row's data source) for the claims report."""

import json
import math
import re
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..io.atomic import atomic_path
from .contents import METRICS, SOURCE_COLUMN, TABLES, Cell, Table


def read_evaluation(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: evaluation missing; run `snakemake {path}` first, or the table's own target")
    return json.loads(path.read_text())


def cell_value(evaluation: dict, metric: str) -> float:
    if metric == "seconds":
        return float(evaluation["runtime"]["seconds_per_stack"])
    if metric in ("psnr", "ssim"):
        aif = evaluation.get("aif")
        return float(aif[metric]) if aif else math.nan
    return float(evaluation["metrics"][metric])


def column_name(group: str, metric: str) -> str:
    header = METRICS[metric][0]
    return f"{group} {header}" if group else header


def table_frame(table: Table, evaluations: dict[Cell, dict]) -> pd.DataFrame:
    """One row per table row: its labels, then each group's metrics, then the data source."""
    records = []
    for labels, cells in table.rows:
        record = dict(zip(table.label_columns, labels))
        for group, cell in zip(table.groups, cells):
            for metric in table.metrics:
                record[column_name(group, metric)] = cell_value(evaluations[cell], metric)
        record[SOURCE_COLUMN] = ", ".join(sorted({evaluations[c]["source"] for c in cells}))
        records.append(record)
    return pd.DataFrame.from_records(records)


def format_number(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    if value != 0 and abs(value) < 0.01:
        return f"{value:.2e}"
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def _data_description(evaluations: list[dict]) -> str:
    parts = []
    for dataset in dict.fromkeys(e["dataset"] for e in evaluations):
        sources = {e["source"] for e in evaluations if e["dataset"] == dataset}
        parts.append(
            f"the real {dataset} data"
            if sources == {"real"}
            else f"the embedded synthetic data in the {dataset} format"
            if sources == {"synthetic"}
            else f"{dataset} data from {' and '.join(sorted(sources))} sources"
        )
    return "; ".join(parts)


def caption(table: Table, evaluations: list[dict]) -> str:
    runtime = evaluations[0]["runtime"]
    height, width = runtime["resolution"]
    text = f"{table.title}. Numbers from {_data_description(evaluations)}."
    if "seconds" in table.metrics:
        repeats = min(e["runtime"].get("repeats", 1) for e in evaluations)
        alone = all(e["runtime"].get("machine_to_itself") for e in evaluations)
        timing = f"the median of {repeats} timings per image" if repeats > 1 else "one timing per image"
        text += (
            f" Secs.: seconds per stack at batch {runtime['batch']} on {runtime['device']} "
            f"({height}x{width}, warm-up excluded"
            f"{', synchronised' if runtime.get('synchronised') else ''}), {timing}, averaged over the images"
            f"{', with the machine to itself' if alone else ', while other jobs shared the machine'}."
        )
    return text + " Best value per column in bold."


# LaTeX's special characters, then the symbols the labels use, as LaTeX that pdflatex typesets
# with amssymb (\checkmark); `2~10` is a range, not a non-breaking space.
LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
LATEX_SYMBOLS = {"✓": r"\checkmark{}", "↓": r"$\downarrow$", "↑": r"$\uparrow$", "–": "--"}
LATEX_PREAMBLE = r"\usepackage{booktabs,graphicx,amssymb}"  # what a document needs to \input the tables


def latex_text(text: str) -> str:
    """Plain text (labels, headers, captions) as LaTeX source that prints as it reads."""
    text = re.sub(r"(\d)~(\d)", "\\1\u2013\\2", str(text))  # 2~10 -> 2–10, typeset as 2--10
    text = "".join(LATEX_SPECIALS.get(char, char) for char in text)
    text = re.sub(r"δ(\d)", r"$\\delta_\1$", text)
    return "".join(LATEX_SYMBOLS.get(char, char) for char in text)


def _cmidrules(latex: str, groups: tuple[str, ...], label_columns: int, per_group: int) -> str:
    """A rule under each group's spanning header, as booktabs tables set them."""
    rules = " ".join(
        rf"\cmidrule(lr){{{label_columns + 1 + k * per_group}-{label_columns + (k + 1) * per_group}}}"
        for k in range(len(groups))
    )
    head, rest = latex.split("\\toprule\n", 1)
    first_row, rest = rest.split("\\\\\n", 1)
    return f"{head}\\toprule\n{first_row}\\\\\n{rules}\n{rest}"


def _fit_to_text_width(latex: str) -> str:
    """Scale a tabular down to the text width when it is wider, never up."""
    begin, end = latex.index("\\begin{tabular}"), latex.index("\\end{tabular}") + len("\\end{tabular}")
    box = r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"
    return f"{latex[:begin]}{box}\n{latex[begin:end]}%\n}}{latex[end:]}"


def best_values(table: Table, frame: pd.DataFrame) -> dict[str, float]:
    """Each metric column's best value (lowest or highest, as METRICS says), where it is finite."""
    best = {}
    for group in table.groups:
        for metric in table.metrics:
            column = column_name(group, metric)
            value = frame[column].min() if METRICS[metric][1] else frame[column].max()
            if math.isfinite(value):
                best[column] = value
    return best


def _mark_best(styler, best: dict[str, float], css: str, shown_column=lambda column: column):
    """Style each column's best value with `css` (the styler's column key may differ from the frame's)."""
    for column, value in best.items():
        styler = styler.apply(
            lambda col, value=value: [css if v == value else "" for v in col], subset=[shown_column(column)]
        )
    return styler


def to_latex(table: Table, frame: pd.DataFrame, caption_text: str, label: str) -> str:
    shown = frame.drop(columns=[SOURCE_COLUMN])
    headers = {}
    for group in table.groups:
        for metric in table.metrics:
            name, lower = METRICS[metric]
            headers[column_name(group, metric)] = (latex_text(group), latex_text(f"{name} {'↓' if lower else '↑'}"))
    for column in table.label_columns:
        shown[column] = shown[column].map(latex_text)
    shown.columns = pd.MultiIndex.from_tuples([headers.get(c, ("", latex_text(c))) for c in shown.columns])
    styler = shown.style.hide(axis="index").format(
        lambda v: latex_text(format_number(v)), subset=list(headers.values())
    )
    styler = _mark_best(styler, best_values(table, frame), "textbf:--rwrap;", headers.get)
    grouped = table.groups != ("",)
    if not grouped:
        styler = styler.hide(axis="columns", level=0)
    latex = styler.to_latex(
        hrules=True,
        caption=latex_text(caption_text),
        label=label,
        position="htbp",
        position_float="centering",
        multicol_align="c",
        column_format="l" * len(table.label_columns) + "r" * len(headers),
    )
    if grouped:
        latex = _cmidrules(latex, table.groups, len(table.label_columns), len(table.metrics))
    return _fit_to_text_width(latex)


def to_html(table: Table, frame: pd.DataFrame, caption_text: str) -> str:
    """The same numbers as the LaTeX table, as an HTML page (Snakemake's report shows it inline)."""
    shown = frame.drop(columns=[SOURCE_COLUMN])
    numbers = [column_name(g, m) for g in table.groups for m in table.metrics]
    styler = shown.style.hide(axis="index").format(format_number, subset=numbers).set_caption(caption_text)
    styler = styler.set_uuid("table")  # not pandas' random id: a rerun writes the same page
    styler = _mark_best(styler, best_values(table, frame), "font-weight: bold")
    styler = styler.set_table_styles(
        [
            {"selector": "", "props": "border-collapse: collapse; font-family: sans-serif; font-size: 13px"},
            {"selector": "th, td", "props": "padding: 3px 8px; border-bottom: 1px solid #ccc; text-align: right"},
            {"selector": "caption", "props": "caption-side: top; text-align: left; padding-bottom: 6px"},
        ]
    )
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{table.title}</title></head>\n<body>\n{styler.to_html()}</body></html>\n'


def write_table(name: str, eval_root, tex_path, csv_path, html_path=None, with_rows=()) -> pd.DataFrame:
    """Read the evaluations the table needs (under eval_root/{dataset}/{variant}/) and write the
    files; `with_rows` names the optional rows to show (by their first label)."""
    if name not in TABLES:
        raise InputError(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
    table = TABLES[name].including(with_rows)
    evaluations = {cell: read_evaluation(cell.evaluation(eval_root)) for cell in table.cells()}
    frame = table_frame(table, evaluations)
    caption_text = caption(table, list(evaluations.values()))
    with atomic_path(Path(tex_path)) as tmp:
        tmp.write_text(to_latex(table, frame, caption_text, f"tab:{name}"))
    if html_path is not None:
        with atomic_path(Path(html_path)) as tmp:
            tmp.write_text(to_html(table, frame, caption_text))
    with atomic_path(Path(csv_path)) as tmp:
        frame.to_csv(tmp, index=False)
    return frame
