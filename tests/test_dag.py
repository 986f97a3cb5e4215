"""The DAG against its outputs: the tiny config runs `all` on its own, and config.yaml's whole
experiment matrix runs on tiny data."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, TINY, debian_command

from aifdepth.report.tables import format_number
from aifdepth.stackfile import read_stacks


@pytest.fixture(scope="module")
def built(snakemake, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dag")
    result = snakemake(workdir, "all")
    assert result.returncode == 0, result.stderr[-3000:]
    (workdir / "snakemake.log").write_text(result.stderr)
    return workdir


def test_stacks_target_builds_every_declared_stack(built):
    config = yaml.safe_load(TINY.read_text())
    expected = {f"{d}/{n}.h5" for d, layouts in config["stacks"].items() if d != "mobiledepth" for n in layouts}
    expected |= {"mobiledepth/scene00_aligned.h5", "mobiledepth/scene00_unaligned.h5"}
    found = {str(p.relative_to(built / "results" / "stacks")) for p in (built / "results" / "stacks").rglob("*.h5")}
    assert found == expected


def test_stack_contents_follow_the_layouts(built):
    stacks = built / "results" / "stacks"
    val = read_stacks(stacks / "hci" / "val_10.h5")
    assert val.stack.shape == (4, 10, 32, 32, 3) and val.names == ["boxes", "cotton", "dino", "sideboard"]
    assert (val.dataset, val.unit, val.source) == ("hci", "disparity", "synthetic")
    np.testing.assert_allclose(val.focus[0], np.linspace(-2.5, 2.5, 10), atol=1e-6)
    subset = read_stacks(stacks / "hci" / "val_10_i13579.h5")
    np.testing.assert_array_equal(subset.stack, val.stack[:, [0, 2, 4, 6, 8]])
    np.testing.assert_array_equal(subset.focus, val.focus[:, [0, 2, 4, 6, 8]])
    assert read_stacks(stacks / "hci" / "train_37.h5").stack.shape[:2] == (1, 37)

    ddff = read_stacks(stacks / "ddff" / "val.h5")
    np.testing.assert_allclose(ddff.focus[0], np.linspace(0.28248, 0.02018, 10), rtol=1e-6)
    valid = ddff.depth[np.isfinite(ddff.depth)]
    assert valid.size and valid.min() >= 0.0202 and valid.max() <= 0.2825
    assert np.isnan(read_stacks(stacks / "ddff" / "test.h5").depth).all()

    defocus = read_stacks(stacks / "defocusnet" / "test.h5")
    assert defocus.unit == "metres" and defocus.aif is None
    np.testing.assert_allclose(defocus.focus[0], [0.1, 0.15, 0.3, 0.7, 1.5], rtol=1e-6)

    middlebury = read_stacks(stacks / "middlebury" / "test_15.h5")
    assert middlebury.stack.shape[:2] == (2, 15) and middlebury.aif is not None
    rgbd = read_stacks(stacks / "rgbd" / "train_15.h5")
    assert len(set(rgbd.params["aperture"])) == 2  # the range is stored, one aperture drawn per sample

    aligned = read_stacks(stacks / "mobiledepth" / "scene00_aligned.h5")
    unaligned = read_stacks(stacks / "mobiledepth" / "scene00_unaligned.h5")
    assert aligned.stack.shape == unaligned.stack.shape and aligned.names == ["scene00"]
    assert not np.array_equal(aligned.stack[0, -1], unaligned.stack[0, -1])  # breathing and motion


def test_every_job_logged_and_rerun_is_a_no_op(snakemake, built):
    logs = {str(p.relative_to(built / "results" / "logs")) for p in (built / "results" / "logs").rglob("*.log")}
    assert {"synthesize/hci.log", "stacks/hci/val_10.log", "stacks/mobiledepth/scene00_unaligned.log"} <= logs
    again = snakemake(built, "all", "--dry-run")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_one_stack_builds_only_what_it_needs(snakemake, tmp_path):
    result = snakemake(tmp_path, "results/stacks/middlebury/test_15.h5", "--dry-run")
    assert result.returncode == 0, result.stderr
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, flags=re.MULTILINE))
    assert counts == {"synthesize": "1", "render_stack": "1", "total": "2"}
    assert "resources/middlebury" in result.stdout and "resources/hci" not in result.stdout


def test_data_jobs_start_before_any_training_that_is_ready(snakemake, tmp_path):
    """Snakemake starts the highest priority first among ready jobs: a stack that unblocks trainings
    must not wait behind trainings that took every job slot (see FIRST_PRIORITY)."""
    result = snakemake(tmp_path, "results/models/hci/unsup_2d_smooth/model.pt", "--dry-run")
    assert result.returncode == 0, result.stderr
    priorities = {}
    for block in re.split(r"^(?:local)?rule ", result.stdout, flags=re.MULTILINE)[1:]:
        priority = re.search(r"^    priority: (\d+)$", block, flags=re.MULTILINE)
        priorities[block.split(":")[0]] = int(priority.group(1)) if priority else 0
    assert set(priorities) == {"synthesize", "render_stack", "train"}
    assert priorities["synthesize"] == priorities["render_stack"] > priorities["train"] > 0


@pytest.mark.parametrize(
    "section, key",
    [(("datasets", "hci"), "scenez"), (("variants", "hci", "sup_3d_att", "model"), "architecure")],
    ids=["dataset", "variant-knob"],
)
def test_misspelt_config_key_fails_at_parse_time_naming_it(snakemake, tmp_path, section, key):
    config = yaml.safe_load(TINY.read_text())
    entry = config
    for name in section:
        entry = entry[name]
    entry[key] = 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--dry-run", configfile=bad)
    assert result.returncode != 0
    assert (
        f"{'.'.join(section)}: Additional properties are not allowed ('{key}' was unexpected)"
        in result.stdout + result.stderr
    )
    assert not (tmp_path / "resources").exists()


def test_bad_config_value_is_named(snakemake, tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["stacks"]["hci"]["val_10"]["split"] = "validation"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--dry-run", configfile=bad)
    assert result.returncode != 0 and "'validation' is not one of" in result.stdout + result.stderr


def test_lint_is_clean(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert "Congratulations" in result.stdout + result.stderr, result.stdout + result.stderr


def test_evaluations_of_every_variant(built):
    config = yaml.safe_load(TINY.read_text())
    for dataset, variants in config["variants"].items():
        for name, entry in variants.items():
            assert (built / "results" / "models" / dataset / name / "model.pt").is_file()
            assert (built / "results" / "benchmarks" / "train" / dataset / f"{name}.tsv").is_file()
            for test in entry["test"]:
                metrics = json.loads((built / "results" / "eval" / dataset / name / f"{test}.json").read_text())
                assert np.isfinite(metrics["metrics"]["mae"]) and metrics["runtime"]["seconds_per_stack"] > 0


def test_one_evaluation_job_per_variant_and_each_file_a_target(built, snakemake):
    logs = {
        p.relative_to(built / "results" / "logs" / "evaluate") for p in (built / "results/logs/evaluate").rglob("*")
    }
    assert Path("hci/sup_3d_att.log") in logs and Path("hci/sup_3d_att") not in logs
    (built / "results" / "eval" / "hci" / "sup_3d_att" / "val_10_i13579.json").unlink()
    plan = snakemake(built, "results/eval/hci/sup_3d_att/val_10_i13579.json", "--dry-run")
    assert job_counts(plan.stdout) == {"evaluate": 1}, plan.stdout[-2000:]
    assert snakemake(built, "results/eval/hci/sup_3d_att/val_10_i13579.json").returncode == 0


def test_all_leaves_out_what_the_config_cannot_fill(built):
    """The tiny config declares table5's and figure4's variants only: those are built, every other
    table and figure is left out with one start-up line naming a cell it lacks, and the claims
    report judges the claims of table5 and lists the others as not judged."""
    from aifdepth.report.claims import CLAIMS
    from aifdepth.report.contents import FIGURES, TABLES

    assert {p.stem for p in (built / "results" / "tables").glob("*.tex")} == {"table5"}
    assert {p.stem for p in (built / "results" / "figures").glob("*.png")} == {"figure4", "claims"}
    log = (built / "snakemake.log").read_text()
    for name in set(TABLES) - {"table5"}:
        assert len(re.findall(rf"table {name} left out of `all`: its cell \S+: variants\.", log)) == 1, name
    for name in set(FIGURES) - {"figure4"}:
        assert f"figure {name} left out of `all`" in log, name
    claims = (built / "results" / "claims.md").read_text()
    judged = [claim.key for claim in CLAIMS if claim.tables == ("table5",)]
    assert judged
    for claim in CLAIMS:
        line = rf"^\| {claim.key} \| \*\*(holds|contradicted|inconclusive)\*\* \|$"
        if claim.key not in judged:
            line = rf"^\| {claim.key} \|.*not judged \|$"
        assert re.search(line, claims, re.MULTILINE), claim.key
    assert (built / "results" / "figures" / "claims.png").read_bytes()[:4] == b"\x89PNG"


def paper_matrix_config(path: Path, **training) -> Path:
    """config.yaml's full experiment matrix (every table row) on the tiny datasets, trained
    for two steps: the report DAG end to end in about a minute."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["datasets"] = yaml.safe_load(TINY.read_text())["datasets"]
    config["datasets"]["ddff"]["size"] = [32, 32]  # at least the smallest training crop
    config["datasets"]["hci"]["heldout"] = 2
    config["training"] = {
        "steps": 2,
        "batch_size": 2,
        "crop": 32,
        "learning_rate": 0.001,
        "seed": 0,
        "checkpoint_every": 2,
        **training,
    }
    for variants in config["variants"].values():
        for variant in variants.values():
            variant.get("train", {}).pop("steps", None)  # every variant trains the two steps above
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def reported(snakemake, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("report")
    config = paper_matrix_config(workdir / "matrix.yaml")
    result = snakemake(workdir, "all", configfile=config)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, config


def test_every_table_has_the_papers_rows_and_finite_numbers(reported):
    from aifdepth.report.contents import TABLES

    workdir, _ = reported
    for name, table in TABLES.items():
        latex = (workdir / "results" / "tables" / f"{name}.tex").read_text()
        assert all(rule in latex for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\caption{"))
        frame = pd.read_csv(workdir / "results" / "tables" / f"{name}.csv", dtype=str, keep_default_na=False)
        assert [tuple(row) for row in frame[list(table.label_columns)].itertuples(index=False)] == [
            labels for labels, _ in table.rows
        ]
        numbers = frame.drop(columns=[*table.label_columns, "data"]).astype(float)
        assert numbers.shape[1] == len(table.metrics) * len(table.groups)
        assert np.isfinite(numbers.to_numpy()).all(), name


def test_every_figure_is_an_image_and_claims_have_verdicts(reported):
    from aifdepth.report.contents import FIGURES

    workdir, _ = reported
    for name in FIGURES:
        assert (workdir / "results" / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert (workdir / "results" / "figures" / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    claims = (workdir / "results" / "claims.md").read_text()
    for i in range(1, 12):
        assert re.search(rf"^\| C{i} \| \*\*(holds|contradicted|inconclusive)\*\* \|$", claims, re.MULTILINE), f"C{i}"


CHROMIUM = ("chromium", "chromium-driver")  # Debian's browser and its WebDriver
CHROMIUM_FLAGS = (  # as root, headless, and quiet on a machine without internet
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = debian_command("chromedriver", CHROMIUM)
    options = webdriver.ChromeOptions()
    options.binary_location = debian_command("chromium", CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(10)
    yield driver
    driver.quit()


def report_rows(browser, page: Path, category: str) -> list[str]:
    """The report's page opened afresh on one category: the text of each listed result."""
    from selenium.webdriver.common.by import By

    browser.get(page.as_uri())
    browser.find_element(By.ID, "app")
    browser.execute_script(f"app.showCategory({category!r})")
    browser.find_element(By.XPATH, "//td")
    return [row.text for row in browser.find_elements(By.XPATH, "//tbody/tr")]


def shown_page(browser, row_text: str) -> str:
    """Click a result's eye button and return the text of the page it shows in the report's frame."""
    from selenium.webdriver.common.by import By

    browser.find_element(By.XPATH, f"//tr[td[contains(., {row_text!r})]]//a[@iconname='eye']").click()
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    text = browser.find_element(By.TAG_NAME, "body").text
    browser.switch_to.default_content()
    return text


def test_html_report_shows_tables_figures_and_claims_in_a_browser(reported, snakemake, browser):
    """`snakemake --report` in headless Chromium: no script error, figures listed 1 to 10 in order,
    a table's page shows its CSV's numbers, the claims page every claim's verdict."""
    workdir, config = reported
    result = snakemake(workdir, "--report", "results/report.html", configfile=config)
    assert result.returncode == 0, result.stderr[-3000:]
    page = workdir / "results" / "report.html"
    figures = report_rows(browser, page, "Figures")
    assert [row.split()[0] for row in figures] == [f"{n:02d}" for n in range(1, 11)]
    assert "Depth for growing stack sizes" in figures[0]
    tables = report_rows(browser, page, "Tables")
    assert any(row.startswith("table3 Network architecture") for row in tables)
    shown = shown_page(browser, "table3")
    frame = pd.read_csv(workdir / "results" / "tables" / "table3.csv")
    assert shown.startswith("Network architecture (4D Light Field). Numbers from the embedded synthetic data")
    numbers = frame.drop(columns=["Architecture", "Attention", "data"]).to_numpy().ravel()
    assert all(format_number(value) in shown for value in numbers), shown
    report_rows(browser, page, "Claims")
    claims = shown_page(browser, "claims.html")
    for i in range(1, 12):
        assert re.search(rf"C{i} (holds|contradicted|inconclusive)", claims), f"C{i}"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


def test_rerun_is_a_no_op(snakemake, reported):
    workdir, config = reported
    again = snakemake(workdir, "all", "--dry-run", configfile=config)
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("train", "learning_rate", 0.002),
        ("model", "depth_normalisation", "softplus"),
        ("train", "batch_norm_batches", 5),
    ],
)
def test_a_knob_edit_reruns_only_its_variants_jobs(snakemake, reported, tmp_path, section, key, value):
    """Any knob, including one the rules never name (batch_norm_batches): the whole settings object
    is the train rule's params."""
    workdir, config = reported
    edited = yaml.safe_load(config.read_text())
    edited["variants"]["hci"]["idx12569"][section][key] = value
    edited_path = tmp_path / "edited.yaml"
    edited_path.write_text(yaml.safe_dump(edited))
    plan = snakemake(workdir, "all", "--dry-run", configfile=edited_path)
    jobs = job_counts(plan.stdout)
    assert jobs == {"train": 1, "evaluate": 1, "table": 1, "claims": 1, "all": 1}, plan.stdout[-2000:]
    assert "results/models/hci/idx12569/model.pt" in plan.stdout


def test_one_table_runs_only_the_jobs_it_needs(snakemake, tmp_path):
    config = paper_matrix_config(tmp_path / "matrix.yaml")
    plan = snakemake(tmp_path, "results/tables/table2.tex", "--dry-run", configfile=config)
    jobs = job_counts(plan.stdout)
    # sup_3d_att, arbitrary and the three same-as-test models, each evaluated by one job
    assert jobs["train"] == 5 and jobs["evaluate"] == 5 and jobs["table"] == 1, jobs
    assert "figure" not in jobs and "claims" not in jobs


def job_counts(dry_run_stdout: str) -> dict[str, int]:
    """The 'Job stats' block of a dry run as {rule: count}; the per-variant evaluation rules
    (evaluate_<dataset>_<variant>) count as `evaluate`."""
    block = dry_run_stdout.split("Job stats:")[1].split("total")[0]
    counts: dict[str, int] = {}
    for match in re.finditer(r"^(\w+)\s+(\d+)$", block, re.MULTILINE):
        rule = "evaluate" if match.group(1).startswith("evaluate_") else match.group(1)
        counts[rule] = counts.get(rule, 0) + int(match.group(2))
    return counts


def test_the_authors_checkpoint_is_imported_and_evaluated_into_its_table_row(snakemake, tmp_path):
    from official_network import write_checkpoint

    authors = tmp_path / "authors"
    (authors / "ckpt").mkdir(parents=True)
    write_checkpoint(authors / "ckpt" / "DefocusNet.pth", n_stack=5)
    config = yaml.safe_load(TINY.read_text())
    config["checkpoints"] = {"source": "manual", "path": str(authors), "files": {"defocusnet": "ckpt/DefocusNet.pth"}}
    config["variants"]["defocusnet"]["authors"] = {"model": {"official": "defocusnet"}, "test": ["test"]}
    overlay = tmp_path / "official.yaml"
    overlay.write_text(yaml.safe_dump(config))
    workdir = tmp_path / "run"
    workdir.mkdir()
    result = snakemake(workdir, "results/tables/table5.csv", configfile=overlay)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "official AiFDepthNet, attention" in (workdir / "results/logs/import_official/defocusnet.log").read_text()
    assert not (workdir / "results" / "models" / "defocusnet" / "authors").exists()  # imported, not trained
    evaluation = json.loads((workdir / "results/eval/defocusnet/authors/test.json").read_text())
    table = pd.read_csv(workdir / "results/tables/table5.csv")
    row = table[table["Method"] == "Ours (authors' weights)"]
    assert len(row) == 1 and row["MAE"].item() == pytest.approx(evaluation["metrics"]["mae"], rel=1e-3)
    assert list(table["Method"][:3]) == ["Ours", "DefocusNet", "Classical (focus measure)"]
