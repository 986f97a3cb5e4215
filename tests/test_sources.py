"""Real-data sources end to end: archives in the published layouts (built from the synthetic
generator) served on 127.0.0.1, downloaded, verified, unpacked, read and rendered; folders a user
already has, validated and linked."""

import functools
import http.server
import json
import shutil
import socket
import threading
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from conftest import REPO, TINY
from test_dag import job_counts

from aifdepth.cli import main
from aifdepth.datasets import open_dataset
from aifdepth.datasets.spec import published_by
from aifdepth.errors import InputError
from aifdepth.sources import download, link_manual, unpack
from aifdepth.stackfile import read_stacks
from aifdepth.synthesize import synthesize

PAPER = REPO / "workflow" / "configs" / "paper.yaml"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Small synthetic copies of the published datasets, in their real layouts."""
    root = tmp_path_factory.mktemp("synthetic")
    synthesize("hci", root / "hci", scenes=5, size=(24, 24), seed=1)
    synthesize("ddff", root / "ddff", scenes=3, size=(24, 32), seed=2)
    synthesize("defocusnet", root / "defocusnet", scenes=3, size=(24, 24), seed=3)
    synthesize("middlebury", root / "middlebury", scenes=2, size=(24, 32), seed=4)
    return root


def zip_folder(archive: Path, folder: Path, prefix: str, keep=lambda path: True) -> None:
    """Zip `folder`'s files under `prefix/` in the archive, as the publishers wrap them."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and keep(path):
                zf.write(path, f"{prefix}/{path.relative_to(folder)}")


@pytest.fixture(scope="module")
def published_files(synthetic, tmp_path_factory):
    """The published files of every downloadable dataset, named as their hosts name them."""
    served = tmp_path_factory.mktemp("served")
    zip_folder(served / "full_data.zip", synthetic / "hci", "full_data")
    for name in ("ddff-dataset-trainval.h5", "ddff-dataset-test.h5"):
        shutil.copy(synthetic / "ddff" / name, served / name)
    zip_folder(served / "fs_6.zip", synthetic / "defocusnet" / "fs_6", "fs_6")
    middlebury = synthetic / "middlebury"
    zip_folder(served / "MiddEval3-data-Q.zip", middlebury, "MiddEval3", keep=lambda p: p.name != "disp0GT.pfm")
    zip_folder(served / "MiddEval3-GT0-Q.zip", middlebury, "MiddEval3", keep=lambda p: p.name == "disp0GT.pfm")
    return served


@pytest.fixture(scope="module")
def mirror(published_files):
    """A plain HTTP server on 127.0.0.1 serving the published files."""
    handler = functools.partial(QuietHandler, directory=str(published_files))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.parametrize("dataset", ["hci", "ddff", "defocusnet", "middlebury"])
def test_download_verify_unpack_read(dataset, mirror, published_files, synthetic, tmp_path):
    checksums = tmp_path / "checksums.sha256"
    files = []
    for remote in published_by(dataset).files:
        out = tmp_path / "downloads" / dataset / remote.name
        download(dataset, remote.name, out, checksums, mirror=mirror)
        assert out.read_bytes() == (published_files / remote.name).read_bytes()
        files.append(out)
    recorded = checksums.read_text().split("\n")
    assert {line.split()[1] for line in recorded if line} == {f"{dataset}/{f.name}" for f in files}

    root = tmp_path / "resources" / dataset
    unpack(dataset, files, root)
    ours, theirs = open_dataset(dataset, root), open_dataset(dataset, synthetic / dataset)
    split = next(s for s in reversed(ours.splits) if theirs.names(s))  # hci's last, 'heldout', is empty here
    assert ours.names(split) == theirs.names(split)
    name = ours.names(split)[0]
    np.testing.assert_array_equal(ours.load(split, name).depth, theirs.load(split, name).depth)


def test_downloaded_dataset_renders_stacks(mirror, tmp_path):
    """The real-data path of the DAG for one dataset: download, unpack, then the stacks command."""
    checksums, downloads = tmp_path / "checksums.sha256", tmp_path / "downloads"
    files = []
    for remote in published_by("middlebury").files:
        assert (
            main(
                [
                    "download",
                    "middlebury",
                    remote.name,
                    "--out",
                    str(downloads / remote.name),
                    "--checksums",
                    str(checksums),
                    "--mirror",
                    mirror,
                ]
            )
            == 0
        )
        files.append(str(downloads / remote.name))
    assert main(["unpack", "middlebury", *files, "--out", str(tmp_path / "middlebury")]) == 0
    out = tmp_path / "test_15.h5"
    assert (
        main(
            [
                "build-stack",
                "middlebury",
                str(tmp_path / "middlebury"),
                "--split",
                "test",
                "--out",
                str(out),
                "--source",
                "real",
                "--slices",
                "5",
                "--focus-range",
                "10",
                "60",
                "--aperture",
                "0.15",
            ]
        )
        == 0
    )
    stacks = read_stacks(out)
    assert stacks.stack.shape[:2] == (2, 5) and stacks.source == "real"


def test_unreachable_host_says_what_to_do(tmp_path, capsys, monkeypatch):
    """A refused connection fails once the retries are spent, names the file and the way out, and
    leaves no file a later run would take for complete."""
    monkeypatch.setattr("aifdepth.download.time.sleep", lambda seconds: None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "ddff-dataset-test.h5"
    code = main(
        [
            "download",
            "ddff",
            "ddff-dataset-test.h5",
            "--out",
            str(out),
            "--checksums",
            str(tmp_path / "sums"),
            "--mirror",
            f"http://127.0.0.1:{port}",
        ]
    )
    message = capsys.readouterr().err
    assert code == 2
    assert "ddff-dataset-test.h5" in message and "source: synthetic" in message and str(out) in message
    assert not out.exists()


def test_on_request_dataset_names_the_page(tmp_path):
    with pytest.raises(InputError, match=r"lightfield-analysis\.uni-konstanz\.de") as err:
        download("hci", "full_data.zip", tmp_path / "full_data.zip", tmp_path / "sums")
    assert str(tmp_path / "full_data.zip") in str(err.value)


def test_manual_folder_is_validated_and_linked(synthetic, tmp_path):
    out = tmp_path / "resources" / "hci"
    link_manual("hci", synthetic / "hci", out)
    assert all(entry.is_symlink() for entry in out.iterdir())
    assert open_dataset("hci", out).names("val") == ["boxes", "cotton", "dino", "sideboard"]


def test_manual_folder_with_missing_views_is_refused(synthetic, tmp_path):
    broken = tmp_path / "hci"
    shutil.copytree(synthetic / "hci", broken)
    (broken / "training" / "dino" / "input_Cam040.png").unlink()
    with pytest.raises(InputError, match=r"missing 1 file\(s\): training/dino/input_Cam040.png"):
        link_manual("hci", broken, tmp_path / "resources" / "hci")
    assert not (tmp_path / "resources" / "hci").exists()


def test_manual_ddff_without_its_keys_is_refused(synthetic, tmp_path):
    broken = tmp_path / "ddff"
    shutil.copytree(synthetic / "ddff", broken)
    with h5py.File(broken / "ddff-dataset-trainval.h5", "a") as f:
        del f["disp_val"]
    with pytest.raises(InputError, match="disp_val"):
        link_manual("ddff", broken, tmp_path / "resources" / "ddff")


def test_the_authors_stack_lists_are_validated_and_linked(tmp_path):
    folder = tmp_path / "FlyingThings3D_FS"
    synthesize("flyingthings3d_fs", folder, scenes=2, size=(24, 32), seed=1)
    link_manual("flyingthings3d_fs", folder, tmp_path / "resources" / "flyingthings3d_fs")
    assert (tmp_path / "resources" / "flyingthings3d_fs" / "train.txt").is_file()
    (folder / "test.txt").unlink()
    with pytest.raises(InputError, match=r"test\.txt: no list of the test split"):
        link_manual("flyingthings3d_fs", folder, tmp_path / "resources" / "again")


def test_paper_configuration_plans_without_data(snakemake, tmp_path):
    result = snakemake(tmp_path, "all", "--dry-run", "--printshellcmds", configfile=PAPER)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    assert counts["download"] == 6 and counts["unpack"] == 4 and counts["link"] == 2  # mobiledepth, flyingthings3d_fs
    # the supervised Middlebury model trains on the authors' FlyingThings3D_FS stacks, as theirs did
    assert (
        " train results/stacks/flyingthings3d_fs/train.h5 --out results/models/middlebury/sup/model.pt" in result.stdout
    )
    # one evaluation job per variant: 24 trained ones and the 3 Mobile Depth ones that evaluate Middlebury models
    assert counts["train"] == 24 and counts["evaluate"] == 27
    trainings = [line for line in result.stdout.splitlines() if " train results/stacks/" in line]
    settings = [json.loads(line.split("--settings ")[1].split(" > ")[0].strip("'")) for line in trainings]
    assert settings and all(s["model"]["width"] == "paper" for s in settings)
    # the paper's recipe: RGB slices only, float32, learning rate 1e-3
    assert all(
        not s["model"]["focus_input"] and s["train"]["precision"] == "fp32" and s["train"]["learning_rate"] == 0.001
        for s in settings
    )
    assert "gpu=1" in result.stdout


def test_download_source_through_the_dag(snakemake, mirror, tmp_path):
    """`source: download` in the config: the DAG fetches, records the checksums, unpacks and renders."""
    config = yaml.safe_load(TINY.read_text())
    config["datasets"]["middlebury"] = {"source": "download", "mirror": mirror}
    path = tmp_path / "download.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "results/stacks/middlebury/test_15.h5", configfile=path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_stacks(tmp_path / "results/stacks/middlebury/test_15.h5").source == "real"
    recorded = (tmp_path / "workflow" / "checksums.sha256").read_text()
    assert "middlebury/MiddEval3-data-Q.zip" in recorded and "middlebury/MiddEval3-GT0-Q.zip" in recorded
