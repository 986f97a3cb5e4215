"""Tables, claims and figures from evaluation files with known numbers."""

import json
import re
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import debian_command

from aifdepth.errors import InputError
from aifdepth.report.claims import (
    CLAIMS,
    Evaluations,
    bootstrap_difference,
    claim_verdict,
    judge,
    judge_all,
    package_checks,
    split_seed,
    verdict_of,
    write_claims,
)
from aifdepth.report.contents import FIGURES, METRICS, TABLES
from aifdepth.report.figures import write_figure
from aifdepth.report.tables import LATEX_PREAMBLE, format_number, latex_text, write_table
from aifdepth.stackfile import FocalStacks, write_stacks

# MAE of each (variant, test stack) of hci, chosen so that every claim holds
HCI_MAE = {
    ("idx13579", "val_10_i13579"): 0.16,
    ("idx12569", "val_10_i12569"): 0.18,
    ("sup_3d_att", "val_10_i159"): 0.76,
    ("sup_3d_att", "val_10_i13579"): 0.28,
    ("sup_3d_att", "val_10_i1to9"): 0.09,
    ("arbitrary", "val_10_i159"): 0.27,
    ("arbitrary", "val_10_i13579"): 0.15,
    ("arbitrary", "val_10_i1to9"): 0.12,
    ("idx159", "val_10_i159"): 0.23,
    ("idx1to9", "val_10_i1to9"): 0.095,
    ("sup_3d_att", "val_10"): 0.08,
    ("sup_3d_noatt", "val_10"): 0.085,
    ("sup_2d_att", "val_10"): 0.11,
    ("sup_2d_noatt", "val_10"): 0.12,
    ("unsup_10", "val_10"): 0.24,
    ("unsup_37", "val_37"): 0.21,
    ("unsup_10_smooth", "val_10"): 0.17,
    ("unsup_37_smooth", "val_37"): 0.11,
    ("defocusnet", "val_10"): 0.1,
    ("classical", "val_10"): 0.4,
}
SECONDS = {
    "sup_2d_att": 0.05,
    "sup_2d_noatt": 0.04,
    "sup_3d_att": 0.1,
    "sup_3d_noatt": 0.08,
    "ours": 0.018,
    "defocusnet": 0.039,
}
OTHER_MAE = {
    ("defocusnet", "ours", "test"): 0.055,
    ("defocusnet", "defocusnet", "test"): 0.064,
    ("defocusnet", "classical", "test"): 0.2,
    ("ddff", "ours", "val"): 0.01,
    ("ddff", "defocusnet", "val"): 0.011,
    ("ddff", "classical", "val"): 0.03,
    ("middlebury", "sup", "test_15"): 2.0,
    ("middlebury", "unsup", "test_15"): 3.0,
}
IMAGE_FACTORS = (0.8, 1.2, 0.9, 1.1)  # per-image values: mean x factor (mean 1)
AIF_PSNR = {"sup_3d_att": 30.0, "unsup_10": 35.0, "unsup_10_smooth": 34.0, "sup": 28.0, "unsup": 33.0}


def evaluation(dataset, variant, testset, mae):
    metrics = {
        name: mae * scale
        for name, scale in (
            ("mae", 1),
            ("mse", 0.5),
            ("rmse", 2),
            ("abs_rel", 3),
            ("sqr_rel", 1.5),
            ("badpix", 0.9),
            ("bumpiness", 10),
            ("log_rmse", 1.2),
            ("delta1", -100),
            ("delta2", -50),
            ("delta3", -20),
        )
    }
    psnr = AIF_PSNR.get(variant)
    aif = {"psnr": psnr, "ssim": psnr / 40} if psnr else {}
    seconds = SECONDS.get(variant, 0.02)
    per_image = [  # the same spread around each mean on every variant: paired differences are exact
        {"name": f"scene{k}", **{m: v * f for m, v in metrics.items()}, "seconds": seconds * f}
        | {m: v * f for m, v in aif.items()}
        for k, f in enumerate(IMAGE_FACTORS)
    ]
    return {
        "dataset": dataset,
        "source": "synthetic",
        "model_config": {"architecture": "aifdepthnet"},
        "metrics": metrics,
        "aif": aif or None,
        "per_image": per_image,
        "runtime": {
            "seconds_per_stack": seconds,
            "device": "CPU (test)",
            "batch": 1,
            "resolution": [32, 32],
            "slices": 10,
            "synchronised": False,
        },
    }


@pytest.fixture
def evaluations(tmp_path):
    root = tmp_path / "eval"
    cells = {("hci", v, t): mae for (v, t), mae in HCI_MAE.items()} | OTHER_MAE
    for (dataset, variant, testset), mae in cells.items():
        path = root / dataset / variant / f"{testset}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(evaluation(dataset, variant, testset, mae)))
    return root


def write_all_tables(root, folder):
    for name in TABLES:
        write_table(name, root, folder / f"{name}.tex", folder / f"{name}.csv", folder / f"{name}.html")


def test_every_table_has_the_papers_rows_and_columns(evaluations, tmp_path):
    write_all_tables(evaluations, tmp_path)
    table2 = pd.read_csv(tmp_path / "table2.csv")
    assert list(table2["Test stack size (index)"]) == ["3 (1, 5, 9)", "5 (1, 3, 5, 7, 9)", "9 (1, 2, ..., 9)"]
    assert [c for c in table2.columns if c.endswith("MAE")] == [
        "Fixed 10 MAE",
        "Arbitrary 2~10 MAE",
        "Same as testing MAE",
    ]
    assert table2.loc[0, "Fixed 10 MAE"] == pytest.approx(0.76)
    table3 = pd.read_csv(tmp_path / "table3.csv", keep_default_na=False)
    assert list(table3.columns[:2]) == ["Architecture", "Attention"]
    assert set(table3.columns) >= {"MAE", "MSE", "RMSE", "AbsRel", "SqrRel", "BadPix(0.07)", "Bump.", "Secs."}
    main4 = pd.read_csv(tmp_path / "main_table4.csv")
    assert list(main4.columns[1:-1]) == ["MSE", "logRMS", "AbsRel", "SqrRel", "Bump.", "δ1", "δ2", "δ3", "Secs."]
    for name in TABLES:
        frame = pd.read_csv(tmp_path / f"{name}.csv")
        assert len(frame) == len(TABLES[name].rows)
        assert (frame["data"] == "synthetic").all()


def test_latex_is_booktabs_with_the_best_value_in_bold(evaluations, tmp_path):
    write_all_tables(evaluations, tmp_path)
    latex = (tmp_path / "table3.tex").read_text()
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\caption{", r"\label{tab:table3}"):
        assert rule in latex
    assert "embedded synthetic data in the hci format" in latex and "CPU (test)" in latex
    body = latex.split(r"\midrule")[1].split(r"\bottomrule")[0]
    rows = [row for row in body.split(r"\\") if row.strip()]
    assert len(rows) == 4
    assert r"\textbf{0.0800}" in rows[0]  # 3D with attention has the lowest MAE
    assert r"\textbf{0.0400}" in rows[3]  # 2D without attention is the fastest
    assert rows[0].count(r"\textbf") == 7  # best in every column but Secs.
    main4 = (tmp_path / "main_table4.tex").read_text()
    assert r"\textbf{-1.0000}" in main4  # delta: higher is better, so the largest value is bold


LATEX_PACKAGES = ("texlive-latex-base", "texlive-latex-recommended")  # pdflatex; booktabs


def pdflatex() -> str:
    return debian_command("pdflatex", LATEX_PACKAGES)


def test_every_latex_table_compiles_and_fits_the_text_width(evaluations, tmp_path):
    """Each table \\input into a plain article with the preamble the README names: no LaTeX error,
    no overfull box (a table wider than the text is scaled down to it)."""
    write_all_tables(evaluations, tmp_path)
    engine = pdflatex()
    for name in TABLES:
        document = tmp_path / f"doc_{name}.tex"
        document.write_text(
            "\\documentclass{article}\n" + LATEX_PREAMBLE + "\n\\begin{document}\n"
            f"\\input{{{name}.tex}}\n\\end{{document}}\n"
        )
        run = subprocess.run(
            [engine, "-interaction=nonstopmode", "-halt-on-error", document.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        log = (tmp_path / f"doc_{name}.log").read_text(errors="replace")
        assert run.returncode == 0, f"{name}: " + "\n".join(line for line in log.splitlines() if line.startswith("!"))
        assert "Overfull \\hbox" not in log and "Overfull \\vbox" not in log, name
        assert "Missing character" not in log, name
        assert (tmp_path / f"doc_{name}.pdf").stat().st_size > 1000
    table2 = (tmp_path / "table2.tex").read_text()
    assert "Arbitrary 2--10" in table2 and r"\cmidrule(lr){2-4}" in table2 and r"\resizebox" in table2
    assert r"\checkmark" in (tmp_path / "table3.tex").read_text()
    assert r"$\delta_1$" in (tmp_path / "main_table4.tex").read_text()


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("x86_64, 100% & #1 {a}", r"x86\_64, 100\% \& \#1 \{a\}"),
        ("Arbitrary 2~10", "Arbitrary 2--10"),
        ("MAE ↓ δ1 ✓", r"MAE $\downarrow$ $\delta_1$ \checkmark{}"),
        ("~^\\$", r"\textasciitilde{}\textasciicircum{}\textbackslash{}\$"),
    ],
)
def test_latex_text_escapes_and_sets_symbols(text, latex):
    assert latex_text(text) == latex


def test_html_tables_and_claims_show_the_same_numbers(evaluations, tmp_path):
    """Snakemake's report shows HTML inline: each table's page holds every number of its CSV, in
    the LaTeX table's format, the best in bold; the claims page is the Markdown report as tables."""
    write_all_tables(evaluations, tmp_path)
    for name, table in TABLES.items():
        page = (tmp_path / f"{name}.html").read_text()
        frame = pd.read_csv(tmp_path / f"{name}.csv")
        assert page.startswith("<!DOCTYPE html>") and f"<caption>{table.title}." in page
        for group in table.groups:
            for metric in table.metrics:
                for value in frame[f"{group} {METRICS[metric][0]}".strip()]:
                    assert f">{format_number(value)}<" in page, (name, metric, value)
    assert "font-weight: bold" in (tmp_path / "table3.html").read_text()
    first = (tmp_path / "table3.html").read_text()
    write_table("table3", evaluations, tmp_path / "t.tex", tmp_path / "t.csv", tmp_path / "table3.html")
    assert (tmp_path / "table3.html").read_text() == first  # a rerun writes the same page
    write_claims(list(TABLES), sorted(evaluations.rglob("*.json")), tmp_path / "c.md", html_path=tmp_path / "c.html")
    page = (tmp_path / "c.html").read_text()
    assert page.count("<table>") == 3 and "<strong>holds</strong>" in page and "Arbitrary 2~10" in page


def test_claims_follow_the_per_image_numbers_and_agree_with_the_tables(evaluations, tmp_path):
    write_all_tables(evaluations, tmp_path)
    out = tmp_path / "claims.md"
    paths = sorted(evaluations.rglob("*.json"))
    verdicts = dict(write_claims(sorted(tmp_path.glob("*.csv")), paths, out, [tmp_path / "claims.png"]))
    assert list(verdicts) == [f"C{i}" for i in range(1, 12)] == [c.key for c in CLAIMS]
    assert set(verdicts.values()) == {"holds"}, verdicts
    report = out.read_text()
    assert "Claims: 11 hold, 0 contradicted, 0 inconclusive" in report
    assert re.search(r"\| check \| hci/sup_3d_att 2x better than classical on val_10 \| .* \| -80\.0 % \[", report)
    claims, _ = judge_all(list(TABLES), Evaluations(paths))
    for claim, judgements in claims:  # every mean a claim shows is the table's number
        for judgement in judgements:
            for side, mean in zip((judgement.comparison.first, judgement.comparison.second), judgement.means):
                table = pd.read_csv(tmp_path / f"{side.table}.csv", dtype=str, keep_default_na=False)
                row = table[(table[list(TABLES[side.table].label_columns)] == list(side.labels)).all(axis=1)]
                column = f"{side.group} {METRICS[judgement.comparison.metric][0]}".strip()
                assert float(row[column].iloc[0]) == pytest.approx(mean), (claim.key, side)

    uniform = evaluations / "hci" / "idx13579" / "val_10_i13579.json"
    result = json.loads(uniform.read_text())
    result["per_image"][0]["mae"] = 2.0  # one image of the uniform layout goes badly wrong
    uniform.write_text(json.dumps(result))
    claims, _ = judge_all(["table1"], Evaluations(paths))
    (c1,) = claims[0][1]
    assert c1.means[0] == pytest.approx((2.0 + 0.16 * (1.2 + 0.9 + 1.1)) / 4)
    assert c1.verdict == "inconclusive"  # the other three images still favour it
    for row in result["per_image"]:
        row["mae"] = 0.5
    uniform.write_text(json.dumps(result))
    verdicts = dict(write_claims([tmp_path / "table1.csv"], paths, out))
    assert verdicts == {"C1": "contradicted"}
    assert "| C1 | **contradicted** |" in out.read_text() and "not judged" in out.read_text()


def test_verdicts_from_hand_made_per_image_values():
    rng = np.random.default_rng(5)
    base = rng.uniform(1.0, 2.0, 40)
    effect, noise = base * 0.8, base * (1 + rng.normal(0, 0.05, 40))
    cases = [(effect, "holds"), (noise, "inconclusive"), (base * 1.25, "contradicted")]
    for first, expected in cases:
        difference, interval = bootstrap_difference(first[None], base[None])
        assert interval[0] <= difference <= interval[1]
        assert verdict_of(interval, "lower") == expected
    assert verdict_of((-0.7, -0.6), "lower", bound=-0.5) == "holds"  # 2x better: below -50 %
    assert verdict_of((-0.6, -0.4), "lower", bound=-0.5) == "inconclusive"
    assert verdict_of((0.1, 0.2), "higher") == "holds" and verdict_of((-0.2, -0.1), "higher") == "contradicted"
    assert claim_verdict(["holds", "holds"]) == "holds"
    assert claim_verdict(["holds", "inconclusive"]) == "inconclusive"
    assert claim_verdict(["contradicted", "inconclusive"]) == "contradicted"


def test_interval_covers_the_true_difference_at_the_stated_rate():
    """First: 10 + N(1, 2) per image against a constant 10, so the true relative difference is
    0.1; over 300 samples of 30 images the 95 % intervals cover it about 95 % of the time."""
    rng = np.random.default_rng(6)
    covered = 0
    for _ in range(300):
        first = 10 + rng.normal(1.0, 2.0, 30)
        _, (low, high) = bootstrap_difference(first[None], np.full((1, 30), 10.0), resamples=2000)
        covered += low <= 0.1 <= high
    assert 0.88 <= covered / 300 <= 0.99, covered


def test_seed_runs_widen_the_interval_and_show_their_spread(evaluations, tmp_path):
    """C5's attention pair trained with seeds 1 and 2 as well: the seeds are resampled with the
    images, so the interval is wider than with one seed, and the report lists MAE per seed."""
    assert split_seed("unsup_10.seed2") == ("unsup_10", 2) and split_seed("unsup_10") == ("unsup_10", None)
    one_seed = judge(CLAIMS[4].comparisons[0], Evaluations(sorted(evaluations.rglob("*.json"))))
    for variant, maes in (("sup_3d_att", (0.06, 0.12)), ("sup_2d_att", (0.13, 0.09))):
        for seed, mae in enumerate(maes, start=1):
            path = evaluations / "hci" / f"{variant}.seed{seed}" / "val_10.json"
            path.parent.mkdir()
            path.write_text(json.dumps(evaluation("hci", variant, "val_10", mae)))
    paths = sorted(evaluations.rglob("*.json"))
    seeded = judge(CLAIMS[4].comparisons[0], Evaluations(paths))
    assert seeded.seeds == (3, 3) and one_seed.seeds == (1, 1)
    assert seeded.interval[1] - seeded.interval[0] > 5 * (one_seed.interval[1] - one_seed.interval[0])
    write_claims(["table3"], paths, tmp_path / "seeds.md")
    report = (tmp_path / "seeds.md").read_text()
    assert "| hci/sup_3d_att | val_10 | 0: 0.0800, 1: 0.0600, 2: 0.1200 | 0.0867 ± 0.0249 |" in report
    assert "4 images, seeds 3 / 3" in report


def test_evaluations_without_per_image_values_or_of_other_images_are_refused(evaluations, tmp_path):
    old = evaluations / "hci" / "idx12569" / "val_10_i12569.json"
    result = json.loads(old.read_text())
    old.write_text(json.dumps({k: v for k, v in result.items() if k != "per_image"}))
    paths = sorted(evaluations.rglob("*.json"))
    with pytest.raises(InputError, match=r"idx12569/val_10_i12569.json: no per-image 'mae'.*snakemake --forcerun"):
        write_claims(["table1"], paths, tmp_path / "claims.md")
    result["per_image"] = result["per_image"][:3]
    old.write_text(json.dumps(result))
    with pytest.raises(
        InputError, match=r"idx12569/val_10_i12569.json and .*idx13579/val_10_i13579.json: evaluated on"
    ):
        write_claims(["table1"], paths, tmp_path / "claims.md")


def test_the_ablations_are_checked_against_defocusnet(tmp_path):
    """Supplementary table 3's ablations (2D, or no attention) meet DefocusNet wherever both are
    evaluated on one test stack; the full model and other datasets' models are not ablations."""
    models = {
        "sup_3d_att": {"architecture": "aifdepthnet", "conv": "3d", "attention": True},
        "sup_2d_att": {"architecture": "aifdepthnet", "conv": "2d", "attention": True},
        "sup_3d_noatt": {"architecture": "aifdepthnet", "conv": "3d", "attention": False},
        "defocusnet": {"architecture": "defocusnet", "conv": "3d", "attention": True},
        "classical": {"architecture": "classical", "conv": "3d", "attention": True},
    }
    mae = {"sup_3d_att": 0.08, "sup_2d_att": 0.09, "sup_3d_noatt": 0.12, "defocusnet": 0.1, "classical": 0.4}
    for variant, model in models.items():
        for dataset in ("hci", "ddff"):
            result = evaluation(dataset, variant, "val_10", mae[variant]) | {"model_config": model}
            path = tmp_path / dataset / variant / "val_10.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result))
    (tmp_path / "ddff" / "defocusnet" / "val_10.json").unlink()
    evaluations = Evaluations(sorted(tmp_path.rglob("*.json")))
    rivals = [c for c in package_checks(evaluations) if "DefocusNet" in c.label]
    assert [c.label for c in rivals] == [
        "hci/sup_2d_att (ablation) beats DefocusNet on val_10",
        "hci/sup_3d_noatt (ablation) beats DefocusNet on val_10",
    ]
    verdicts = [judge(c, evaluations) for c in rivals]
    assert [j.difference for j in verdicts] == pytest.approx([-0.1, 0.2])
    assert [j.verdict for j in verdicts] == ["holds", "contradicted"]


def test_claims_figure_has_one_row_per_comparison(evaluations, tmp_path):
    from aifdepth.report.claims_figure import draw_claims

    paths = sorted(evaluations.rglob("*.json"))
    claims, checks = judge_all(["table1", "table3"], Evaluations(paths))
    rows = [(claim.key, j) for claim, js in claims for j in js] + [("checks", j) for j in checks]
    labels = draw_claims(rows, [tmp_path / "claims.pdf", tmp_path / "claims.png"])
    assert len(labels) == len(rows) == 1 + 2 + 2 + len(checks)
    assert labels[0] == "C1: MAE, uniform vs non-uniform"
    assert (tmp_path / "claims.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "claims.pdf").read_bytes()[:5] == b"%PDF-"


def test_claims_report_renders_as_github_flavoured_markdown(evaluations, tmp_path):
    """C4's evidence names 'Arbitrary 2~10' twice: unescaped, GitHub strikes out what lies between
    the two tildes. Every row keeps its cells, nothing is struck out, no tilde is left bare."""
    from markdown_it import MarkdownIt

    write_all_tables(evaluations, tmp_path)
    out = tmp_path / "claims.md"
    write_claims(sorted(tmp_path.glob("*.csv")), sorted(evaluations.rglob("*.json")), out)
    source = out.read_text()
    assert "2~10" in source.replace("\\~", "~") and not re.search(r"(?<!\\)~", source)
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(source)
    assert "<s>" not in html and "<del>" not in html
    tables = re.findall(r"<table>.*?</table>", html, flags=re.S)
    assert len(tables) == 3
    for table, cells in zip(tables, (7, 2, 7)):
        for row in re.findall(r"<tr>.*?</tr>", table, flags=re.S):
            assert len(re.findall(r"<t[hd]", row)) == cells, row
    assert "Arbitrary 2~10" in html


def test_numbers_from_real_data_say_so(evaluations, tmp_path):
    """Evaluations of real stacks: the table caption and the claims report name the real data."""
    for path in (evaluations / "hci").rglob("*.json"):
        result = json.loads(path.read_text())
        path.write_text(json.dumps({**result, "source": "real"}))
    write_all_tables(evaluations, tmp_path)
    assert "the real hci data" in (tmp_path / "table3.tex").read_text()
    write_claims(["table3"], sorted(evaluations.rglob("*.json")), tmp_path / "claims.md")
    assert "| C5 | 3D convolution beats 2D | data: table3 (real) |" in (tmp_path / "claims.md").read_text()


def test_a_missing_evaluation_names_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"idx13579/val_10_i13579.json: evaluation missing"):
        write_table("table1", tmp_path, tmp_path / "t.tex", tmp_path / "t.csv")


@pytest.mark.parametrize("value, text", [(0.08, "0.0800"), (8.6e-4, "8.60e-04"), (float("nan"), "–"), (0.0, "0.0000")])
def test_number_format(value, text):
    assert format_number(value) == text


def test_figure_is_a_valid_image(tmp_path):
    rng = np.random.default_rng(0)
    stacks = tmp_path / "stacks" / "middlebury" / "test_15.h5"
    depth = rng.uniform(10, 60, (2, 24, 32)).astype(np.float32)
    aif = rng.integers(0, 256, (2, 24, 32, 3), dtype=np.uint8)
    write_stacks(
        stacks,
        FocalStacks(
            stack=rng.integers(0, 256, (2, 3, 24, 32, 3), dtype=np.uint8),
            focus=np.tile(np.float32([10, 35, 60]), (2, 1)),
            depth=depth,
            aif=aif,
            names=["a", "b"],
            dataset="middlebury",
            unit="disparity",
            source="synthetic",
            params={},
        ),
    )
    for variant in ("sup", "unsup", "classical"):
        path = tmp_path / "eval" / "middlebury" / variant / "test_15.h5"
        path.parent.mkdir(parents=True)
        with h5py.File(path, "w") as f:
            f["depth"] = depth + 1
            f["aif"] = aif
    write_figure("figure9", tmp_path / "eval", tmp_path / "stacks", tmp_path / "f.pdf", tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "f.pdf").read_bytes()[:5] == b"%PDF-"
    assert set(FIGURES) == {f"figure{n}" for n in range(1, 11)}
    from PIL import Image

    from aifdepth.report.figures import Sources, colour_bar_extend, draw

    width, height = Image.open(tmp_path / "f.png").size
    assert width > height  # 4:3 images in 4:3 cells, two rows: no blank bands between them
    figure = draw(FIGURES["figure9"], Sources(tmp_path / "eval", tmp_path / "stacks"))
    assert "synthetic stand-in" in figure._suptitle.get_text()
    assert [axis.get_ylabel() for axis in figure.axes[::5][:2]] == ["test_15 sample a", "test_15 sample b"]
    comparison = draw(FIGURES["figure6"], Sources(tmp_path / "eval", tmp_path / "stacks"))
    assert comparison._supxlabel.get_text() == FIGURES["figure6"].legend and "Ours (AiF): trained on the" in (
        FIGURES["figure6"].legend
    )
    bars = [axis for axis in figure.axes if axis.get_label() == "<colorbar>"]
    assert [bar._colorbar.extend for bar in bars] == ["neither"]  # the AiF error bar of a perfect AiF: no clipping
    assert colour_bar_extend([np.array([1.0, 2.0])], 1.0, 2.0) == "neither"
    assert colour_bar_extend([np.array([0.5, 2.0, np.nan])], 1.0, 2.0) == "min"
    assert colour_bar_extend([np.array([0.5, 3.0]), np.array([1.5])], 1.0, 2.0) == "both"


def test_mobile_depth_figure_has_one_row_per_scene(tmp_path):
    """Mobile Depth keeps one stack file per scene: figure 10 takes a row from each scene's files."""
    from aifdepth.report.figures import Sources, figure_rows

    rng = np.random.default_rng(1)
    for scene in ("s0", "s1"):
        for frames in ("aligned", "unaligned", "realigned"):
            write_stacks(
                tmp_path / "stacks" / "mobiledepth" / f"{scene}_{frames}.h5",
                FocalStacks(
                    stack=rng.integers(0, 256, (1, 3, 24, 32, 3), dtype=np.uint8),
                    focus=np.float32([[0.2, 0.5, 0.8]]),
                    depth=np.full((1, 24, 32), np.nan, np.float32),
                    aif=None,
                    names=[scene],
                    dataset="mobiledepth",
                    unit="disparity",
                    source="real",
                    params={},
                ),
            )
            path = tmp_path / "eval" / "mobiledepth" / "sup" / f"{scene}_{frames}.h5"
            path.parent.mkdir(parents=True, exist_ok=True)
            with h5py.File(path, "w") as f:
                f["depth"] = rng.uniform(0.2, 0.8, (1, 24, 32)).astype(np.float32)
    sources = Sources(tmp_path / "eval", tmp_path / "stacks")
    rows = figure_rows(FIGURES["figure10"], sources, ["s0", "s1"])
    assert [label for label, _, _ in rows] == ["s0", "s1"]
    cells = [[c.testset for c in p.cells()] for p in rows[1][1]]
    assert cells == [
        ["s1_unaligned"],
        ["s1_unaligned"],
        ["s1_realigned"],
        ["s1_aligned"],
        ["s1_unaligned", "s1_aligned"],  # the difference maps: each depth's change against the aligned frames
        ["s1_realigned", "s1_aligned"],
    ]
    change = sources.image(rows[1][1][4], 0)
    folder = tmp_path / "eval" / "mobiledepth" / "sup"
    with h5py.File(folder / "s1_unaligned.h5") as captured, h5py.File(folder / "s1_aligned.h5") as aligned:
        np.testing.assert_allclose(change, np.abs(captured["depth"][0] - aligned["depth"][0]))
    write_figure(
        "figure10", tmp_path / "eval", tmp_path / "stacks", tmp_path / "f.pdf", tmp_path / "f.png", scenes=["s0", "s1"]
    )
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="--scenes"):
        write_figure("figure10", tmp_path / "eval", tmp_path / "stacks", tmp_path / "g.pdf", tmp_path / "g.png")


def test_runtime_caption_says_how_the_seconds_were_timed(evaluations, tmp_path):
    """Seconds timed with the machine to itself say so, with their repeats; a table that mixes in
    one evaluation timed beside other jobs says that instead."""
    for path in (evaluations / "defocusnet").rglob("*.json"):
        result = json.loads(path.read_text())
        result["runtime"] |= {"repeats": 3, "machine_to_itself": True}
        path.write_text(json.dumps(result))
    write_table("table5", evaluations, tmp_path / "t.tex", tmp_path / "t.csv")
    assert "the median of 3 timings per image, averaged over the images, with the machine to itself" in (
        tmp_path / "t.tex"
    ).read_text().replace("\n", " ")
    path = evaluations / "defocusnet" / "classical" / "test.json"
    result = json.loads(path.read_text())
    path.write_text(json.dumps(result | {"runtime": result["runtime"] | {"machine_to_itself": False}}))
    write_table("table5", evaluations, tmp_path / "t.tex", tmp_path / "t.csv")
    assert "while other jobs shared the machine" in (tmp_path / "t.tex").read_text().replace("\n", " ")
