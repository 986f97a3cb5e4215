"""The claims as one figure: a row per comparison, our relative difference with its 95 %
interval, the paper's as a marker, the line of no effect, rows coloured by verdict."""

from pathlib import Path

from ..io.atomic import atomic_path

COLOURS = {"holds": "#1b7837", "contradicted": "#c51b7d", "inconclusive": "#8c8c8c"}


def draw_claims(rows, paths) -> list[str]:
    """rows: (group, Judgement) top to bottom; paths: the files to write (PDF, PNG). Returns the
    row labels, top to bottom."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    figure, axes = plt.subplots(figsize=(9, 1.2 + 0.22 * len(rows)), layout="constrained")
    labels = []
    for y, (group, judgement) in enumerate(rows):
        comparison = judgement.comparison
        low, high = (100 * v for v in judgement.interval)
        colour = COLOURS[judgement.verdict]
        axes.plot([low, high], [y, y], color=colour, linewidth=2)
        axes.plot(100 * judgement.difference, y, "o", color=colour, markersize=4)
        if comparison.paper_difference is not None:
            axes.plot(100 * comparison.paper_difference, y, "D", color="black", markersize=4, fillstyle="none")
        if comparison.bound:
            axes.plot(100 * comparison.bound, y, "|", color="black", markersize=9)
        labels.append(f"{group}: {comparison.label}")
    for y, ((group, _), (previous, _)) in enumerate(zip(rows[1:], rows[:-1]), start=1):
        if group != previous:
            axes.axhline(y - 0.5, color="#dddddd", linewidth=0.8)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_yticks(range(len(rows)), labels, fontsize=7)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.set_xlabel("relative difference of the means, (first - second) / second, %")
    axes.legend(
        handles=[Line2D([], [], color=c, linewidth=2, label=v) for v, c in COLOURS.items()]
        + [
            Line2D([], [], marker="D", color="black", fillstyle="none", linestyle="", label="paper"),
            Line2D([], [], marker="|", color="black", markersize=9, linestyle="", label="claimed bound"),
        ],
        fontsize=7,
        loc="lower right",
    )
    axes.set_title("Claims with 95 % paired-bootstrap intervals", fontsize=9)
    for path in map(Path, paths):
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=path.suffix.lstrip("."), dpi=150)
    plt.close(figure)
    return labels
