"""Our stacks against the authors' renders of the same scenes: PSNR by hand, sizes and focus checked."""

import math

import numpy as np
import pytest

from aifdepth.errors import InputError
from aifdepth.stackdiff import only, slice_psnr
from aifdepth.stackfile import FocalStacks


def stacks(names, stack, focus=(10.0, 35.0, 60.0)) -> FocalStacks:
    n, _, h, w, _ = stack.shape
    return FocalStacks(
        stack=stack,
        focus=np.tile(np.asarray(focus), (n, 1)),
        depth=np.full((n, h, w), 20.0, np.float32),
        names=list(names),
        dataset="middlebury",
        unit="disparity",
        source="synthetic",
    )


def test_slice_psnr_by_hand():
    rng = np.random.default_rng(0)
    mine = rng.integers(0, 255, (2, 3, 8, 10, 3), dtype=np.uint8)
    ours = stacks(["Teddy", "Piano"], mine)
    # one grey level everywhere: PSNR = 20 log10(255) = 48.13 dB; their scenes in another order
    theirs = stacks(["Piano", "Teddy", "Jadeplant"], np.concatenate([mine[::-1] + 1, mine[:1]]))
    result = slice_psnr(ours, theirs)
    assert list(result) == ["Teddy", "Piano"]
    assert all(v == pytest.approx(20 * math.log10(255)) for values in result.values() for v in values)
    # a render at twice the size, each pixel a 2x2 block, is averaged back onto ours exactly
    doubled = stacks(["Teddy", "Piano"], mine.repeat(2, axis=2).repeat(2, axis=3))
    assert all(v == math.inf for values in slice_psnr(ours, doubled).values() for v in values)
    assert only(theirs, ["Teddy"]).names == ["Teddy"] and (only(theirs, ["Teddy"]).stack == mine[:1] + 1).all()


def test_stacks_of_other_scenes_or_focus_are_refused():
    mine = np.zeros((1, 3, 4, 4, 3), np.uint8)
    with pytest.raises(InputError, match="no scene in both stack files"):
        slice_psnr(stacks(["Teddy"], mine), stacks(["Piano"], mine))
    with pytest.raises(
        InputError, match=r"scene Teddy: the stacks focus at \[10\.0, 35\.0, 60\.0\] and \[10\.0, 30\.0, 60\.0\]"
    ):
        slice_psnr(stacks(["Teddy"], mine), stacks(["Teddy"], mine, focus=(10.0, 30.0, 60.0)))
