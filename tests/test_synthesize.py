"""The embedded datasets: written in the real formats, read back by the real readers,
deterministic for a seed, in each real dataset's ranges."""

import json

import cv2
import numpy as np
import pytest

from aifdepth.datasets import open_dataset
from aifdepth.errors import InputError
from aifdepth.synthesize import stereo_unknown, synthesize, thin_lens_apertures


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    sizes = {
        "hci": (32, 32),
        "ddff": (24, 32),
        "defocusnet": (32, 32),
        "middlebury": (32, 40),
        "rgbd": (32, 40),
        "mobiledepth": (48, 64),
        "middlebury_fs": (48, 64),
        "flyingthings3d_fs": (32, 40),
    }
    counts = {
        "hci": 5,
        "ddff": 4,
        "defocusnet": 5,
        "middlebury": 2,
        "rgbd": 2,
        "mobiledepth": 1,
        "middlebury_fs": 2,
        "flyingthings3d_fs": 5,
    }
    for name, size in sizes.items():
        synthesize(name, root / name, scenes=counts[name], size=size, seed=11)
    return root


def test_hci_reads_back(synthetic):
    dataset = open_dataset("hci", synthetic / "hci")
    assert dataset.names("val") == ["boxes", "cotton", "dino", "sideboard"]
    assert dataset.names("train") == ["antinous"]
    sample = dataset.load("val", "dino")
    assert sample.views.shape == (9, 9, 32, 32, 3)
    assert np.nanmin(sample.depth) >= -2.5 and np.nanmax(sample.depth) <= 2.5
    assert (synthetic / "hci" / "training" / "dino" / "parameters.cfg").is_file()


def test_ddff_reads_back_in_its_unit(synthetic):
    dataset = open_dataset("ddff", synthetic / "ddff")
    assert [len(dataset.names(s)) for s in ("train", "val", "test")] == [2, 1, 1]
    sample = dataset.load("val", "val_00000")
    assert sample.stack.shape == (10, 24, 32, 3)
    valid = sample.depth[np.isfinite(sample.depth)]
    assert valid.min() >= 0.0202 and valid.max() <= 0.2825
    assert np.isnan(sample.depth).any()  # sensor holes stored as 0, read as unknown


def sharpest_focus(sample) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the focus of the sharpest slice (local Laplacian energy), and where the scene
    is textured enough to tell (the better half of the pixels)."""
    grey = sample.stack.astype(np.float32).mean(axis=3)
    sharpness = np.stack([cv2.GaussianBlur(cv2.Laplacian(s, cv2.CV_32F) ** 2, (0, 0), 2) for s in grey])
    best = sharpness.max(axis=0)
    return sample.focus[np.argmax(sharpness, axis=0)], best > np.percentile(best, 50)


def test_ddff_slices_focus_where_the_disparity_says(synthetic):
    """The sharpest slice per pixel should sit near the GT disparity: the light fields are
    refocused at the DDFF focus positions in the DDFF unit."""
    sample = open_dataset("ddff", synthetic / "ddff").load("train", "train_00000")
    best_focus, textured = sharpest_focus(sample)
    valid = textured & np.isfinite(sample.depth)
    error = np.abs(best_focus[valid] - sample.depth[valid])
    assert np.median(error) < 0.06  # two slice spacings of 0.029


def test_the_authors_stack_lists_read_back_and_focus_where_the_disparity_says(synthetic):
    assert [
        len(open_dataset("flyingthings3d_fs", synthetic / "flyingthings3d_fs").names(s)) for s in ("train", "test")
    ] == [4, 1]
    sample = open_dataset("middlebury_fs", synthetic / "middlebury_fs").load("test", "scene00")
    assert sample.stack.shape == (15, 48, 64, 3) and sample.focus[[0, -1]].tolist() == [10.0, 60.0]
    best_focus, textured = sharpest_focus(sample)
    inside = textured & (sample.depth >= 10) & (sample.depth <= 60)
    assert np.median(np.abs(best_focus[inside] - sample.depth[inside])) < 2 * (50 / 14)  # two slice spacings


def test_defocusnet_reads_back_in_metres(synthetic):
    dataset = open_dataset("defocusnet", synthetic / "defocusnet")
    assert dataset.names("train") == ["000000", "000001", "000002", "000003"]
    sample = dataset.load("test", "000004")
    assert sample.stack.shape == (5, 32, 32, 3)
    assert np.nanmin(sample.depth) >= 0.1 and np.nanmax(sample.depth) <= 1.9 + 1e-4


def test_thin_lens_blur_matches_the_textbook_formula():
    f, n, s1, s2, width = 2.9e-3, 1.0, 0.1, 1.0, 256
    coc_diameter = (f / n) * f / (s1 - f) * abs(s2 - s1) / s2
    radius_px = 0.5 * coc_diameter / (3.1e-3 / width)
    assert thin_lens_apertures([s1], width)[0] * (1 / s1 - 1 / s2) == pytest.approx(radius_px)
    assert radius_px == pytest.approx(3.219, abs=1e-3)


def test_middlebury_and_rgbd_read_back(synthetic):
    middlebury = open_dataset("middlebury", synthetic / "middlebury")
    assert middlebury.names("test") == ["Adirondack", "ArtL"]
    sample = middlebury.load("test", "ArtL")
    assert sample.aif.shape == (32, 40, 3) and np.isnan(sample.depth).any()
    assert np.nanmin(sample.depth) >= 6 and np.nanmax(sample.depth) <= 64
    assert open_dataset("rgbd", synthetic / "rgbd").names("train") == ["synthetic000", "synthetic001"]


def test_stereo_unknown_is_left_of_foreground_edges():
    disparity = np.full((1, 20), 10.0, np.float32)
    disparity[0, 10:] = 14.0  # foreground starting at column 10 hides 4 background columns
    unknown = stereo_unknown(disparity)
    assert np.flatnonzero(unknown[0]).tolist() == [6, 7, 8, 9]


def test_mobiledepth_breathing_and_motion_are_recorded(synthetic):
    root = synthetic / "mobiledepth"
    aligned = open_dataset("mobiledepth", root, frames="aligned").load("test", "scene00")
    captured = open_dataset("mobiledepth", root, frames="unaligned").load("test", "scene00")
    truth = json.loads((root / "synthetic_truth" / "scene00.json").read_text())
    assert len(truth["transforms"]) == len(aligned.focus) == 10
    assert truth["transforms"][-1]["scale"] == pytest.approx(1.02)
    last = np.array(truth["transforms"][-1]["matrix"])
    warped = cv2.warpAffine(aligned.stack[-1], last, (64, 48), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(warped[inner].astype(int) - captured.stack[-1][inner]).mean() < 3  # JPEG noise only
    assert np.abs(aligned.stack[-1][inner].astype(int) - captured.stack[-1][inner]).mean() > 3
    assert aligned.aif.shape == (48, 64, 3) and np.isfinite(aligned.depth).all()


def test_deterministic_for_a_seed(tmp_path):
    for name in ("a", "b", "c"):
        synthesize("middlebury", tmp_path / name, scenes=1, size=(24, 24), seed=5 if name != "c" else 6)

    def files(d):
        return {p.name: p.read_bytes() for p in (d / "trainingQ" / "Adirondack").iterdir()}

    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert files(tmp_path / "a")["im0.png"] != files(tmp_path / "c")["im0.png"]


def test_bad_request_leaves_no_folder(tmp_path):
    with pytest.raises(InputError, match="at least 5 scenes"):
        synthesize("hci", tmp_path / "hci", scenes=3, size=(32, 32))
    with pytest.raises(InputError, match="unknown dataset 'nyu'"):
        synthesize("nyu", tmp_path / "nyu")
    assert list(tmp_path.iterdir()) == []


def test_hci_held_out_scenes_are_never_trained_on_and_leave_the_others_unchanged(synthetic, tmp_path):
    synthesize("hci", tmp_path / "hci", scenes=5, size=(32, 32), seed=11, heldout=3)
    dataset = open_dataset("hci", tmp_path / "hci")
    assert dataset.names("heldout") == ["heldout000", "heldout001", "heldout002"]
    assert dataset.names("train") == ["antinous"]
    assert open_dataset("hci", synthetic / "hci").names("heldout") == []
    for scene in ("training/dino", "additional/antinous"):
        for name in ("gt_disp_lowres.pfm", "input_Cam040.png"):
            assert (tmp_path / "hci" / scene / name).read_bytes() == (synthetic / "hci" / scene / name).read_bytes()
    with pytest.raises(InputError, match="hci only"):
        synthesize("ddff", tmp_path / "ddff", scenes=4, size=(24, 32), heldout=2)
