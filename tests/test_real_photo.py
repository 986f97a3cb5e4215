"""The real-photograph check: Middlebury 2014 Motorcycle (scikit-image's copy) defocused into a
stack file that the evaluation reads like any other."""

import numpy as np
import pytest

from aifdepth.evaluate import evaluate
from aifdepth.metrics import valid_mask
from aifdepth.models import ModelConfig
from aifdepth.realphoto import FOCUS_RANGE, SLICES, motorcycle, real_photo_stack
from aifdepth.stackfile import read_stacks
from aifdepth.train import TrainSettings, train

pytest.importorskip("skimage")


def test_the_photograph_has_metric_ground_truth_in_the_stack_range():
    image, disparity = motorcycle()
    assert image.shape == (500, 741, 3) and image.dtype == np.uint8
    known = disparity[np.isfinite(disparity)]
    assert 0.85 < known.size / disparity.size < 1
    assert FOCUS_RANGE[0] - 5 < np.percentile(known, 1) and np.percentile(known, 99) < FOCUS_RANGE[1] + 5


def test_classical_focus_measure_recovers_the_real_scene(tmp_path):
    """On the real photograph the classical baseline is far better than a constant guess: the stack,
    its focus positions and its GT disparity agree (a flipped or shifted focus would not)."""
    stacks = real_photo_stack(tmp_path / "motorcycle.h5", scale=0.4)
    assert stacks.stack.shape == (1, SLICES, 200, 296, 3) and stacks.source == "real"
    read = read_stacks(tmp_path / "motorcycle.h5")
    np.testing.assert_array_equal(read.focus[0], np.linspace(*FOCUS_RANGE, SLICES).astype(np.float32))
    model = tmp_path / "classical.pt"
    train(
        ModelConfig(architecture="classical"), tmp_path / "motorcycle.h5", model, tmp_path / "log.csv", TrainSettings()
    )
    mae = evaluate(model, tmp_path / "motorcycle.h5", tmp_path / "eval.json", device="cpu")["metrics"]["mae"]
    depth = read.depth[0]
    mask = valid_mask(depth, "middlebury")
    constant = float(np.abs(depth[mask] - np.median(depth[mask])).mean())
    assert mae < 0.5 * constant, (mae, constant)
