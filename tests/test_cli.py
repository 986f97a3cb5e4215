"""The `aifdepth` command as a user runs it: outputs on success, a named problem and no
output on bad input."""

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from aifdepth.cli import main
from aifdepth.datasets.hci import read_scene
from aifdepth.io.images import write_rgb
from aifdepth.io.pfm import write_pfm
from aifdepth.stackfile import read_stacks
from aifdepth.synthesize import synthesize


@pytest.fixture(scope="module")
def hci_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("hci")
    synthesize("hci", root / "hci", scenes=5, size=(32, 32), seed=3)
    return root / "hci"


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "aifdepth.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "synthesize" in result.stdout and "refocus" in result.stdout


def test_refocus_writes_one_sample_with_negative_disparities(hci_root, tmp_path):
    out = tmp_path / "boxes.h5"
    assert (
        main(
            [
                "refocus",
                str(hci_root / "training" / "boxes"),
                "--disparities",
                "-2.5",
                "-1",
                "0",
                "1.5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    stacks = read_stacks(out)
    assert stacks.stack.shape == (1, 4, 32, 32, 3) and stacks.names == ["boxes"]
    np.testing.assert_allclose(stacks.focus[0], [-2.5, -1, 0, 1.5])
    assert stacks.source == "synthetic" and stacks.params["renderer"] == "refocus"
    np.testing.assert_array_equal(stacks.aif[0], read_scene(hci_root / "training" / "boxes").views[4, 4])


def test_refocus_empty_disparity_list(hci_root, tmp_path, capsys):
    out = tmp_path / "x.h5"
    assert main(["refocus", str(hci_root / "training" / "boxes"), "--disparities", "--out", str(out)]) == 2
    assert "--disparities must be a non-empty" in capsys.readouterr().err and not out.exists()


def test_refocus_missing_views(hci_root, tmp_path, capsys):
    scene = tmp_path / "dino"
    scene.mkdir()
    for path in (hci_root / "training" / "dino").iterdir():
        if path.name != "input_Cam080.png":
            (scene / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "x.h5"
    assert main(["refocus", str(scene), "--disparities", "0", "--out", str(out)]) == 2
    assert f"{scene}: missing 1 of 81 views (input_Cam080.png)" in capsys.readouterr().err
    assert not out.exists()


def rgbd_pair(tmp_path, shape=(24, 32)):
    rng = np.random.default_rng(0)
    write_rgb(tmp_path / "im0.png", rng.integers(0, 256, (*shape, 3), dtype=np.uint8))
    disparity = np.full(shape, 20.0, np.float32)
    disparity[:, shape[1] // 2 :] = 50.0
    disparity[0, 0] = np.inf
    write_pfm(tmp_path / "disp0GT.pfm", disparity)


def test_defocus_writes_stack_and_keeps_unknown_as_nan(tmp_path):
    rgbd_pair(tmp_path)
    out = tmp_path / "stack.h5"
    assert (
        main(
            [
                "defocus",
                "--image",
                str(tmp_path / "im0.png"),
                "--disparity",
                str(tmp_path / "disp0GT.pfm"),
                "--focus",
                "20",
                "35",
                "50",
                "--aperture",
                "0.2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    stacks = read_stacks(out)
    assert stacks.stack.shape == (1, 3, 24, 32, 3)
    assert np.isnan(stacks.depth[0, 0, 0]) and stacks.depth[0, 1, 1] == 20.0
    assert stacks.params["aperture"] == 0.2


@pytest.mark.parametrize(
    "problem, args, message",
    [
        ("empty focus", ["--focus"], "--focus must be a non-empty"),
        ("wrong size", ["--focus", "20"], "image is 32x24 (WxH) but"),
    ],
)
def test_defocus_bad_input(tmp_path, capsys, problem, args, message):
    rgbd_pair(tmp_path)
    if problem == "wrong size":
        write_pfm(tmp_path / "disp0GT.pfm", np.ones((20, 32), np.float32))
    out = tmp_path / "stack.h5"
    code = main(
        [
            "defocus",
            "--image",
            str(tmp_path / "im0.png"),
            "--disparity",
            str(tmp_path / "disp0GT.pfm"),
            "--aperture",
            "0.2",
            "--out",
            str(out),
            *args,
        ]
    )
    assert code == 2 and message in capsys.readouterr().err and not out.exists()


def test_defocus_truncated_pfm(tmp_path, capsys):
    rgbd_pair(tmp_path)
    data = (tmp_path / "disp0GT.pfm").read_bytes()
    (tmp_path / "disp0GT.pfm").write_bytes(data[: len(data) // 2])
    out = tmp_path / "stack.h5"
    assert (
        main(
            [
                "defocus",
                "--image",
                str(tmp_path / "im0.png"),
                "--disparity",
                str(tmp_path / "disp0GT.pfm"),
                "--focus",
                "20",
                "--aperture",
                "0.2",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "disp0GT.pfm: truncated PFM" in capsys.readouterr().err and not out.exists()


def test_stacks_from_h5_without_expected_keys(tmp_path, capsys):
    with h5py.File(tmp_path / "ddff-dataset-trainval.h5", "w") as f:
        f["images"] = np.zeros((1, 10, 4, 4, 3), np.uint8)
    out = tmp_path / "val.h5"
    assert main(["build-stack", "ddff", str(tmp_path), "--split", "val", "--source", "real", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "ddff-dataset-trainval.h5: missing key(s) ['stack_val', 'disp_val']" in err and not out.exists()


def test_stacks_index_list_outside_stack(hci_root, tmp_path, capsys):
    out = tmp_path / "val.h5"
    assert (
        main(
            [
                "build-stack",
                "hci",
                str(hci_root),
                "--split",
                "val",
                "--slices",
                "5",
                "--focus-range",
                "-2.5",
                "2.5",
                "--indices",
                "1",
                "6",
                "--source",
                "synthetic",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "slice indices [6] are outside 1..5" in capsys.readouterr().err and not out.exists()


def test_one_slice_stack_is_refused_like_one_image(tmp_path, capsys):
    """A one-image 'stack' has nothing to compare: evaluate, predict --stack and predict with
    one image all stop with the same message, and write nothing."""
    rgbd_pair(tmp_path)
    image, disparity = str(tmp_path / "im0.png"), str(tmp_path / "disp0GT.pfm")
    three, one = tmp_path / "three.h5", tmp_path / "one.h5"
    for out, focus in [(three, ["20", "35", "50"]), (one, ["20"])]:
        assert (
            main(
                [
                    "defocus",
                    "--image",
                    image,
                    "--disparity",
                    disparity,
                    "--focus",
                    *focus,
                    "--aperture",
                    "0.2",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
    model = tmp_path / "classical.pt"
    assert (
        main(
            [
                "train",
                str(three),
                "--architecture",
                "classical",
                "--out",
                str(model),
                "--log",
                str(tmp_path / "log.csv"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    runs = [
        ["evaluate", "--model", str(model), "--stacks", str(one), "--out", str(tmp_path / "eval.json")],
        ["predict", "--model", str(model), "--stack", str(one), "--out", str(tmp_path / "pred_stack")],
        ["predict", image, "--focus", "20", "--model", str(model), "--out", str(tmp_path / "pred_image")],
    ]
    for run in runs:
        assert main(run) == 2, run
        assert "a focal stack needs at least 2 images" in capsys.readouterr().err, run
    assert not any((tmp_path / name).exists() for name in ("eval.json", "pred_stack", "pred_image"))


@pytest.fixture(scope="module")
def mobile_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mobile") / "mobiledepth"
    synthesize("mobiledepth", root, scenes=1, size=(180, 240), seed=6)
    return root


def test_align_command_undoes_the_recorded_breathing_and_motion(mobile_root, tmp_path):
    from aifdepth.align import corner_error

    frames = sorted((mobile_root / "Photos" / "scene00").glob("a*.jpg"))
    assert main(["align", *map(str, frames), "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "transforms.json").read_text())
    assert [s["output"] for s in record["slices"]] == [
        str(tmp_path / f"{k:02d}_{f.stem}.png") for k, f in enumerate(frames)
    ]
    assert all(Path(s["output"]).is_file() for s in record["slices"]) and not record["warnings"]
    truth = json.loads((mobile_root / "synthetic_truth" / "scene00.json").read_text())["transforms"]
    for estimated, true in zip(record["slices"], truth):
        true_matrix = np.vstack([np.array(true["matrix"]), [0, 0, 1]])
        assert corner_error(np.array(estimated["transform"]), true_matrix, (180, 240)) < 0.5


def test_predict_reads_calibrated_txt_and_aligns(mobile_root, tmp_path):
    """Mobile Depth's calibrated.txt ends with the focal length: one line more than frames."""
    model = tmp_path / "classical.pt"
    stacks = tmp_path / "stacks.h5"
    assert (
        main(
            [
                "build-stack",
                "mobiledepth",
                str(mobile_root),
                "--split",
                "test",
                "--out",
                str(stacks),
                "--source",
                "synthetic",
                "--frames",
                "unaligned",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                str(stacks),
                "--architecture",
                "classical",
                "--out",
                str(model),
                "--log",
                str(tmp_path / "log.csv"),
            ]
        )
        == 0
    )
    frames = sorted((mobile_root / "Photos" / "scene00").glob("a*.jpg"))
    calibrated = tmp_path / "calibrated.txt"
    focus = (mobile_root / "calibration" / "scene00" / "calibrated.txt").read_text()
    calibrated.write_text(focus + "4.5 0\n")  # the focal length line of the real files
    out = tmp_path / "pred"
    assert (
        main(
            [
                "predict",
                *map(str, frames),
                "--focus-file",
                str(calibrated),
                "--align",
                "affine",
                "--model",
                str(model),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert (out / "depth.pfm").is_file() and (out / "depth.png").is_file()
    assert len(json.loads((out / "transforms.json").read_text())["slices"]) == len(frames)


def defocused(tmp_path, out, *focus) -> list[str]:
    image, disparity = str(tmp_path / "im0.png"), str(tmp_path / "disp0GT.pfm")
    return ["defocus", "--image", image, "--disparity", disparity, "--focus", *focus, "--aperture", "0.2", "--out", out]


def test_corrupt_or_inconsistent_stack_file_names_it_and_a_command_that_rebuilds_it(tmp_path, capsys):
    rgbd_pair(tmp_path)
    stacks = tmp_path / "results" / "stacks" / "middlebury" / "test.h5"
    assert main(defocused(tmp_path, str(stacks), "20", "35", "50")) == 0
    model = tmp_path / "classical.pt"
    train = ["train", str(stacks), "--architecture", "classical", "--out", str(model), "--log", str(tmp_path / "l.csv")]
    assert main(train) == 0
    with h5py.File(stacks, "r") as f:
        offset = f["stack"].id.get_chunk_info(0).byte_offset
    data = bytearray(stacks.read_bytes())
    data[offset + 20 : offset + 60] = bytes(40)  # zeros inside the gzip stream of the first chunk
    stacks.write_bytes(bytes(data))
    capsys.readouterr()
    evaluate = ["evaluate", "--model", str(model), "--stacks", str(stacks), "--out", str(tmp_path / "e.json")]
    assert main(evaluate) == 2
    err = capsys.readouterr().err
    assert (
        f"{stacks}: corrupt stack file" in err
        and "snakemake --cores 1 --force results/stacks/middlebury/test.h5" in err
    )
    assert err.count("\n") == 1 and not (tmp_path / "e.json").exists()

    elsewhere = tmp_path / "mine.h5"
    assert main(defocused(tmp_path, str(elsewhere), "20", "35", "50")) == 0
    with h5py.File(elsewhere, "r+") as f:
        del f["focus"]
        f["focus"] = np.zeros((1, 2), np.float32)
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--stack", str(elsewhere), "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert f"{elsewhere}: inconsistent stack file" in err and "focus must be (1, 3)" in err and "snakemake" not in err


@pytest.mark.parametrize("content, reason", [(b"", "empty model file"), (b"not a zip" * 10, "corrupt or truncated")])
def test_unreadable_model_file_says_why_in_our_words(tmp_path, capsys, content, reason):
    model = tmp_path / "results" / "models" / "hci" / "sup" / "model.pt"
    model.parent.mkdir(parents=True)
    model.write_bytes(content)
    rgbd_pair(tmp_path)
    assert main(defocused(tmp_path, str(tmp_path / "s.h5"), "20", "35")) == 0
    capsys.readouterr()
    assert (
        main(["predict", "--model", str(model), "--stack", str(tmp_path / "s.h5"), "--out", str(tmp_path / "p")]) == 2
    )
    err = capsys.readouterr().err
    assert reason in err and "--force results/models/hci/sup/model.pt" in err and "weights_only" not in err


def test_all_unknown_disparity_names_the_file(tmp_path, capsys):
    rgbd_pair(tmp_path)
    write_pfm(tmp_path / "disp0GT.pfm", np.full((24, 32), np.inf, np.float32))
    assert main(defocused(tmp_path, str(tmp_path / "s.h5"), "20", "35")) == 2
    assert f"{tmp_path / 'disp0GT.pfm'}: the disparity has no finite value" in capsys.readouterr().err


def test_unreadable_image_prints_our_message_only(tmp_path, capfd):
    rgbd_pair(tmp_path)
    (tmp_path / "im0.png").write_bytes(b"\x89PNG broken")
    assert main(defocused(tmp_path, str(tmp_path / "s.h5"), "20", "35")) == 2
    err = capfd.readouterr().err
    assert "not a readable image" in err and "imread" not in err and "[ERROR" not in err


def test_write_failure_is_one_message_and_leaves_nothing(tmp_path, capsys):
    """Writing under a path whose 'folder' is a file: one line naming it, exit 2, no partial output."""
    rgbd_pair(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a folder")
    out = tmp_path / "blocker" / "s.h5"
    assert main(defocused(tmp_path, str(out), "20", "35")) == 2
    err = capsys.readouterr().err
    assert err.startswith("aifdepth defocus: error: ") and "blocker" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "disp0GT.pfm", "im0.png"]


def test_full_disk_is_one_message_naming_the_output(tmp_path, capsys, monkeypatch):
    """HDF5 outputs are built in memory and written in one plain write, so a full disk is an OSError
    there (h5py's own writer failed only on close and then crashed the interpreter, exit 139)."""
    import errno
    import pathlib

    rgbd_pair(tmp_path)
    out = tmp_path / "out" / "s.h5"

    def no_space(self, data):
        self.open("wb").close()  # the part file exists, as after a partial write
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_bytes", no_space)
    assert main(defocused(tmp_path, str(out), "20", "35")) == 2
    assert capsys.readouterr().err == (
        f"aifdepth defocus: error: {out}: No space left on device; check the path and free space\n"
    )
    assert list(out.parent.iterdir()) == []
