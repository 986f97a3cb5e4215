"""The DAG on a real single-node Slurm cluster through `--profile profiles/slurm`: the same
tables as a local run, a failing job reported with its log, every daemon stopped afterwards."""

import re
import subprocess

import pandas as pd
import pytest
import yaml
from conftest import REPO, TINY
from slurm_cluster import SlurmUnavailable, start, stop

PROFILE = REPO / "profiles" / "slurm"
TABLE = "results/tables/main_table4.csv"


@pytest.fixture(scope="module")
def cluster():
    try:
        started = start()
    except SlurmUnavailable as reason:
        pytest.skip(f"no Slurm cluster: {reason}")
    yield
    stop(started)


def ddff_config(path, **broken_variant):
    """The tiny config with DDFF 12-Scene's table: three variants, a handful of jobs."""
    config = yaml.safe_load(TINY.read_text())
    ddff = {"source": "synthetic", "scenes": 10, "size": [32, 40], "seed": 2}
    config["datasets"] = {"ddff": ddff}
    config["stacks"] = {"ddff": {"val": {"split": "val"}}}
    config["variants"] = {
        "ddff": {
            "ours": {
                "model": {"architecture": "aifdepthnet", "conv": "3d", "attention": True},
                "train": {"stacks": "val"},
                "loss": {"supervised": 1.0},
                "test": ["val"],
            },
            "defocusnet": {
                "model": {"architecture": "defocusnet"},
                "train": {"stacks": "val"},
                "loss": {"supervised": 1.0},
                "test": ["val"],
            },
            "classical": {"model": {"architecture": "classical"}, "train": {"stacks": "val"}, "test": ["val"]},
            **broken_variant,
        }
    }
    config["resources"] = {"train": {"gpu": 1}, "evaluate": {"gpu": 1}}  # scheduled on the fake GPU
    config.pop("seed_runs", None)
    path.write_text(yaml.safe_dump(config))
    return path


def test_cluster_run_gives_the_tables_of_a_local_run(snakemake, cluster, tmp_path):
    config = ddff_config(tmp_path / "ddff.yaml")
    local, remote = tmp_path / "local", tmp_path / "slurm"
    local.mkdir()
    remote.mkdir()
    result = snakemake(local, TABLE, configfile=config)
    assert result.returncode == 0, result.stderr[-3000:]
    result = snakemake(remote, TABLE, "--profile", str(PROFILE), "--jobs", "4", configfile=config)
    assert result.returncode == 0, result.stderr[-5000:]
    submitted = re.findall(r"has been submitted with SLURM jobid \d+ \(log: .*/rule_(\w+?)/", result.stderr)
    expected = [f"evaluate_ddff_{variant}" for variant in ("classical", "defocusnet", "ours")]
    assert sorted(submitted) == [*expected, "render_stack", "synthesize"] + ["train"] * 3
    assert "localrule table:" in result.stderr  # seconds of work stay on the submitting node
    run_id = re.search(r"SLURM run ID: (\S+)", result.stderr).group(1)
    jobs = subprocess.run(["scontrol", "-o", "show", "job"], capture_output=True, text=True, check=True).stdout
    trainings = [line for line in jobs.splitlines() if f"JobName={run_id}" in line and "Comment=rule_train" in line]
    assert len(trainings) == 3 and all("TresPerJob=gres:gpu:1" in line for line in trainings)
    pd.testing.assert_frame_equal(
        pd.read_csv(remote / TABLE).drop(columns="Secs."), pd.read_csv(local / TABLE).drop(columns="Secs.")
    )


def test_failing_job_is_reported_with_its_log(snakemake, cluster, tmp_path):
    broken = {
        "broken": {
            "model": {"architecture": "aifdepthnet"},
            "train": {"stacks": "val", "crop": 512},
            "loss": {"supervised": 1.0},
            "test": ["val"],
        }
    }
    config = ddff_config(tmp_path / "broken.yaml", **broken)
    result = snakemake(
        tmp_path, "results/models/ddff/broken/model.pt", "--profile", str(PROFILE), "--retries", "0", configfile=config
    )  # the profile's retry would fail the same way
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Error in rule train" in output and "results/logs/train/ddff/broken.log" in output
    assert "crop 512 is larger than the training images" in output  # the job's log, shown by the profile
