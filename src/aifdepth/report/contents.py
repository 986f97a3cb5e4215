"""Which evaluation fills which cell of the paper's tables, and which predictions each
figure shows. Cells name (dataset, variant, test stack) of `variants:` in config.yaml, so
the DAG asks for exactly the evaluations a table needs."""

from dataclasses import dataclass, replace

from ..errors import InputError

SOURCE_COLUMN = "data"  # the CSV column naming the data (synthetic or real) behind each row

# metric key of the evaluation JSON -> (column header, True when lower is better)
METRICS = {
    "mae": ("MAE", True),
    "mse": ("MSE", True),
    "rmse": ("RMSE", True),
    "log_rmse": ("logRMS", True),
    "abs_rel": ("AbsRel", True),
    "sqr_rel": ("SqrRel", True),
    "badpix": ("BadPix(0.07)", True),
    "bumpiness": ("Bump.", True),
    "delta1": ("δ1", False),
    "delta2": ("δ2", False),
    "delta3": ("δ3", False),
    "seconds": ("Secs.", True),
    "psnr": ("PSNR", False),
    "ssim": ("SSIM", False),
}


@dataclass(frozen=True)
class Cell:
    dataset: str
    variant: str
    testset: str

    def evaluation(self, root="results/eval") -> str:
        return f"{root}/{self.dataset}/{self.variant}/{self.testset}.json"

    def predictions(self, root="results/eval") -> str:
        return f"{root}/{self.dataset}/{self.variant}/{self.testset}.h5"

    def stacks(self, root="results/stacks") -> str:
        return f"{root}/{self.dataset}/{self.testset}.h5"

    def for_scene(self, scene: str) -> "Cell":
        return replace(self, testset=self.testset.format(scene=scene))


@dataclass(frozen=True)
class Table:
    """`optional_rows` are shown only where the config declares their cells (the authors'
    checkpoints, which a user must fetch), named by their first label."""

    title: str
    label_columns: tuple[str, ...]
    metrics: tuple[str, ...]
    rows: tuple[tuple[tuple[str, ...], tuple[Cell, ...]], ...]  # (labels, one cell per group)
    groups: tuple[str, ...] = ("",)
    optional_rows: tuple[tuple[tuple[str, ...], tuple[Cell, ...]], ...] = ()

    def cells(self) -> list[Cell]:
        return [cell for _, cells in self.rows for cell in cells]

    def including(self, names) -> "Table":
        """The table with those of its optional rows whose first label is in `names`."""
        unknown = set(names) - {labels[0] for labels, _ in self.optional_rows}
        if unknown:
            raise InputError(f"{self.title}: no optional row {sorted(unknown)}")
        extra = tuple(row for row in self.optional_rows if row[0][0] in names)
        return replace(self, rows=self.rows + extra, optional_rows=())


def _hci(variant: str, testset: str = "val_10") -> Cell:
    return Cell("hci", variant, testset)


_STACK_TESTS = (
    ("3 (1, 5, 9)", "val_10_i159", "idx159"),
    ("5 (1, 3, 5, 7, 9)", "val_10_i13579", "idx13579"),
    ("9 (1, 2, ..., 9)", "val_10_i1to9", "idx1to9"),
)
AUTHORS_WEIGHTS = "Ours (authors' weights)"  # the row of a variant `authors` with model: {official: ...}
_ALL_DEPTH = ("mae", "mse", "rmse", "abs_rel", "sqr_rel", "badpix", "bumpiness", "seconds")

TABLES = {
    "table1": Table(
        "Uniformity of the input stack samples (4D Light Field)",
        ("Image index",),
        ("mae", "mse", "rmse"),
        (
            (("1, 3, 5, 7, 9",), (_hci("idx13579", "val_10_i13579"),)),
            (("1, 2, 5, 6, 9",), (_hci("idx12569", "val_10_i12569"),)),
        ),
    ),
    "table2": Table(
        "Stack sizes at training and testing (4D Light Field)",
        ("Test stack size (index)",),
        ("mae", "mse", "rmse"),
        tuple(
            ((label,), (_hci("sup_3d_att", test), _hci("arbitrary", test), _hci(same, test)))
            for label, test, same in _STACK_TESTS
        ),
        groups=("Fixed 10", "Arbitrary 2~10", "Same as testing"),
    ),
    "table3": Table(
        "Network architecture (4D Light Field)",
        ("Architecture", "Attention"),
        _ALL_DEPTH,
        (
            (("3D", "✓"), (_hci("sup_3d_att"),)),
            (("3D", ""), (_hci("sup_3d_noatt"),)),
            (("2D", "✓"), (_hci("sup_2d_att"),)),
            (("2D", ""), (_hci("sup_2d_noatt"),)),
        ),
    ),
    "table4": Table(
        "Supervision (4D Light Field)",
        ("Supervised", "Stack size", "L_smooth"),
        ("mse", "mae", "rmse", "abs_rel", "sqr_rel", "badpix", "bumpiness", "seconds"),
        (
            (("Yes", "10", ""), (_hci("sup_3d_att"),)),
            (("No", "10", ""), (_hci("unsup_10"),)),
            (("No", "37", ""), (_hci("unsup_37", "val_37"),)),
            (("No", "10", "✓"), (_hci("unsup_10_smooth"),)),
            (("No", "37", "✓"), (_hci("unsup_37_smooth", "val_37"),)),
        ),
    ),
    "table5": Table(
        "Comparison on the DefocusNet dataset",
        ("Method",),
        ("mae", "mse", "rmse", "abs_rel", "sqr_rel", "seconds"),
        (
            (("Ours",), (Cell("defocusnet", "ours", "test"),)),
            (("DefocusNet",), (Cell("defocusnet", "defocusnet", "test"),)),
            (("Classical (focus measure)",), (Cell("defocusnet", "classical", "test"),)),
        ),
        optional_rows=(((AUTHORS_WEIGHTS,), (Cell("defocusnet", "authors", "test"),)),),
    ),
    "main_table4": Table(
        "DDFF 12-Scene",
        ("Method",),
        ("mse", "log_rmse", "abs_rel", "sqr_rel", "bumpiness", "delta1", "delta2", "delta3", "seconds"),
        (
            (("Ours",), (Cell("ddff", "ours", "val"),)),
            (("DefocusNet",), (Cell("ddff", "defocusnet", "val"),)),
            (("Classical (focus measure)",), (Cell("ddff", "classical", "val"),)),
        ),
        optional_rows=(((AUTHORS_WEIGHTS,), (Cell("ddff", "authors", "val"),)),),
    ),
    "main_table5": Table(
        "4D Light Field",
        ("Method", "Supervised"),
        ("mse", "rmse", "bumpiness"),
        (
            (("Ours", "Yes"), (_hci("sup_3d_att"),)),
            (("DefocusNet", "Yes"), (_hci("defocusnet"),)),
            (("Classical (focus measure)", "No training"), (_hci("classical"),)),
            (("Ours", "No"), (_hci("unsup_10_smooth"),)),
        ),
        optional_rows=(((AUTHORS_WEIGHTS, "Yes"), (_hci("authors"),)),),
    ),
    "aif_quality": Table(
        "All-in-focus reconstruction",
        ("Dataset", "Supervision"),
        ("psnr", "ssim"),
        (
            (("4D Light Field", "depth"), (_hci("sup_3d_att"),)),
            (("4D Light Field", "AiF"), (_hci("unsup_10"),)),
            (("4D Light Field", "AiF + smoothness"), (_hci("unsup_10_smooth"),)),
            (("Middlebury", "depth"), (Cell("middlebury", "sup", "test_15"),)),
            (("Middlebury", "AiF + smoothness"), (Cell("middlebury", "unsup", "test_15"),)),
        ),
    ),
}


@dataclass(frozen=True)
class Panel:
    """One column of a figure: `kind` is input (middle slice), depth_gt, depth, aif_gt, aif,
    aif_error, or depth_change (|depth of `cell` - depth of `reference`|); `cell` names the
    evaluation whose predictions (or stacks) it shows."""

    title: str
    kind: str
    cell: Cell
    reference: Cell | None = None

    def cells(self) -> tuple[Cell, ...]:
        return (self.cell,) if self.reference is None else (self.cell, self.reference)

    def for_scene(self, scene: str) -> "Panel":
        reference = None if self.reference is None else self.reference.for_scene(scene)
        return replace(self, cell=self.cell.for_scene(scene), reference=reference)


@dataclass(frozen=True)
class Figure:
    """`legend` explains the panel titles' abbreviations, below the figure."""

    title: str
    panels: tuple[Panel, ...]
    samples: int = 2
    legend: str = ""

    @property
    def per_scene(self) -> bool:
        """Test stacks named with `{scene}`: one stack file per scene (Mobile Depth), one row each."""
        return "{scene}" in self.panels[0].cell.testset


def _comparison(dataset: str, testset: str, methods: tuple[tuple[str, str], ...]) -> tuple[Panel, ...]:
    first = Cell(dataset, methods[0][1], testset)
    return (
        Panel("Input (middle slice)", "input", first),
        Panel("Ground truth", "depth_gt", first),
        *(Panel(title, "depth", Cell(dataset, variant, testset)) for title, variant in methods),
    )


def _mobile(variant: str, frames: str) -> Cell:
    return Cell("mobiledepth", variant, "{scene}_" + frames)


_AIF_LEGEND = "Ours (AiF): trained on the all-in-focus image alone, no depth (the unsupervised setting)"
_CLASSICAL_LEGEND = "Classical: the focus measure (Laplacian energy, soft argmax over the stack), no training"

FIGURES = {
    "figure1": Figure(
        "Depth for growing stack sizes (trained on arbitrary 2~10)",
        (
            Panel("Input (middle slice)", "input", _hci("arbitrary", "val_10_i1to9")),
            Panel("Ground truth", "depth_gt", _hci("arbitrary", "val_10_i1to9")),
            Panel("3 slices", "depth", _hci("arbitrary", "val_10_i159")),
            Panel("5 slices", "depth", _hci("arbitrary", "val_10_i13579")),
            Panel("9 slices", "depth", _hci("arbitrary", "val_10_i1to9")),
        ),
    ),
    "figure2": Figure(
        "Supervision settings (4D Light Field)",
        (
            Panel("Ground truth", "depth_gt", _hci("sup_3d_att")),
            Panel("(a) supervised", "depth", _hci("sup_3d_att")),
            Panel("(b) AiF, 10", "depth", _hci("unsup_10")),
            Panel("(c) AiF, 37", "depth", _hci("unsup_37", "val_37")),
            Panel("(d) AiF + smooth, 10", "depth", _hci("unsup_10_smooth")),
            Panel("(e) AiF + smooth, 37", "depth", _hci("unsup_37_smooth", "val_37")),
        ),
        legend="(a) trained on depth; (b)-(e) trained on the all-in-focus image alone, no depth, on 10- or "
        "37-slice stacks (tested on the same size); (d), (e) with the edge-aware smoothness loss",
    ),
    "figure3": Figure(
        "DDFF 12-Scene",
        _comparison("ddff", "val", (("Ours", "ours"), ("DefocusNet", "defocusnet"), ("Classical", "classical"))),
        legend=_CLASSICAL_LEGEND,
    ),
    "figure4": Figure(
        "DefocusNet dataset",
        _comparison("defocusnet", "test", (("Ours", "ours"), ("DefocusNet", "defocusnet"), ("Classical", "classical"))),
        legend=_CLASSICAL_LEGEND,
    ),
    "figure5": Figure(
        "Mobile Depth",
        (
            Panel("Input (middle slice)", "input", _mobile("sup", "aligned")),
            Panel("Ours (supervised)", "depth", _mobile("sup", "aligned")),
            Panel("Ours (AiF)", "depth", _mobile("unsup", "aligned")),
            Panel("Classical", "depth", _mobile("classical", "aligned")),
        ),
        legend=f"{_AIF_LEGEND}; Ours: the Middlebury models (Mobile Depth has no training set); {_CLASSICAL_LEGEND}",
    ),
    "figure8": Figure(
        "All-in-focus reconstruction (Mobile Depth)",
        (
            Panel("Input (middle slice)", "input", _mobile("sup", "aligned")),
            Panel("Depth-supervised AiF", "aif", _mobile("sup", "aligned")),
            Panel("AiF-supervised AiF", "aif", _mobile("unsup", "aligned")),
        ),
    ),
    "figure10": Figure(
        "Depth without and with alignment (Mobile Depth)",
        (
            Panel("As captured (middle slice)", "input", _mobile("sup", "unaligned")),
            Panel("Depth, as captured", "depth", _mobile("sup", "unaligned")),
            Panel("Depth, aligned by us", "depth", _mobile("sup", "realigned")),
            Panel("Depth, aligned frames", "depth", _mobile("sup", "aligned")),
            Panel(
                "|As captured - aligned frames|", "depth_change", _mobile("sup", "unaligned"), _mobile("sup", "aligned")
            ),
            Panel(
                "|Aligned by us - aligned frames|",
                "depth_change",
                _mobile("sup", "realigned"),
                _mobile("sup", "aligned"),
            ),
        ),
    ),
    "figure6": Figure(
        "Middlebury",
        _comparison(
            "middlebury", "test_15", (("Ours (supervised)", "sup"), ("Ours (AiF)", "unsup"), ("Classical", "classical"))
        ),
        legend=f"{_AIF_LEGEND}; {_CLASSICAL_LEGEND}",
    ),
    "figure7": Figure(
        "All-in-focus reconstruction (4D Light Field)",
        (
            Panel("Ground-truth AiF", "aif_gt", _hci("sup_3d_att")),
            Panel("Depth-supervised AiF", "aif", _hci("sup_3d_att")),
            Panel("Error", "aif_error", _hci("sup_3d_att")),
            Panel("AiF-supervised AiF", "aif", _hci("unsup_10_smooth")),
            Panel("Error", "aif_error", _hci("unsup_10_smooth")),
        ),
    ),
    "figure9": Figure(
        "All-in-focus reconstruction (Middlebury)",
        (
            Panel("Ground-truth AiF", "aif_gt", Cell("middlebury", "sup", "test_15")),
            Panel("Depth-supervised AiF", "aif", Cell("middlebury", "sup", "test_15")),
            Panel("Error", "aif_error", Cell("middlebury", "sup", "test_15")),
            Panel("AiF-supervised AiF", "aif", Cell("middlebury", "unsup", "test_15")),
            Panel("Error", "aif_error", Cell("middlebury", "unsup", "test_15")),
        ),
    ),
}
