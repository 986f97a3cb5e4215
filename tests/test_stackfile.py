"""The unified stack file and the stack layouts."""

import h5py
import numpy as np
import pytest

from aifdepth.errors import InputError
from aifdepth.slices import random_subset, select_indices, uniform_focus
from aifdepth.stackfile import FocalStacks, read_stacks, write_stacks


def tiny_stacks(n=2, s=3, h=4, w=5, aif=True):
    rng = np.random.default_rng(0)
    depth = rng.uniform(-1, 1, (n, h, w)).astype(np.float32)
    depth[0, 0, 0] = np.nan
    return FocalStacks(
        stack=rng.integers(0, 256, (n, s, h, w, 3), dtype=np.uint8),
        focus=np.tile(np.linspace(-2.5, 2.5, s, dtype=np.float32), (n, 1)),
        depth=depth,
        aif=rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8) if aif else None,
        names=[f"scene{i}" for i in range(n)],
        dataset="hci",
        unit="disparity",
        source="synthetic",
        params={"slices": s, "aperture": [0.1, 0.2]},
    )


def test_round_trip_keeps_everything(tmp_path):
    stacks = tiny_stacks()
    write_stacks(tmp_path / "s.h5", stacks)
    read = read_stacks(tmp_path / "s.h5")
    np.testing.assert_array_equal(read.stack, stacks.stack)
    np.testing.assert_array_equal(read.focus, stacks.focus)
    np.testing.assert_array_equal(read.depth, stacks.depth)  # NaN where unknown survives
    np.testing.assert_array_equal(read.aif, stacks.aif)
    assert read.names == stacks.names
    assert (read.dataset, read.unit, read.source) == ("hci", "disparity", "synthetic")
    assert read.params == stacks.params


def test_layout_on_disk_is_the_documented_one(tmp_path):
    write_stacks(tmp_path / "s.h5", tiny_stacks(aif=False))
    with h5py.File(tmp_path / "s.h5") as f:
        assert f["stack"].shape == (2, 3, 4, 5, 3) and f["stack"].dtype == np.uint8
        assert f["stack"].chunks == (1, 3, 4, 5, 3) and f["stack"].compression == "gzip"
        assert f["focus"].dtype == np.float32 and f["depth"].shape == (2, 4, 5)
        assert "aif" not in f
        assert f.attrs["unit"] == "disparity"


def test_inconsistent_shapes_rejected():
    good = tiny_stacks()
    with pytest.raises(ValueError, match=r"depth must be \(2, 4, 5\)"):
        FocalStacks(
            stack=good.stack,
            focus=good.focus,
            depth=good.depth[:, :3],
            names=good.names,
            dataset="hci",
            unit="disparity",
            source="synthetic",
        )
    with pytest.raises(ValueError, match="unit must be one of"):
        FocalStacks(
            stack=good.stack,
            focus=good.focus,
            depth=good.depth,
            names=good.names,
            dataset="hci",
            unit="pixels",
            source="synthetic",
        )


def test_file_without_keys_is_named(tmp_path):
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f["stack"] = np.zeros((1, 1, 2, 2, 3), np.uint8)
    with pytest.raises(InputError, match=r"bad\.h5: not a unified stack file, missing focus, depth, name"):
        read_stacks(tmp_path / "bad.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputError, match=r"junk\.h5: not a readable HDF5 stack file"):
        read_stacks(tmp_path / "junk.h5")


def test_failed_write_leaves_nothing(tmp_path):
    stacks = tiny_stacks()
    stacks.names = [object()] * 2  # not storable as strings: h5py raises mid-write
    with pytest.raises(TypeError):
        write_stacks(tmp_path / "s.h5", stacks)
    assert list(tmp_path.iterdir()) == []


def test_uniform_focus_includes_ends():
    np.testing.assert_allclose(uniform_focus((-2.5, 2.5), 10)[[0, -1]], [-2.5, 2.5])
    np.testing.assert_allclose(np.diff(uniform_focus((10, 60), 15)), 50 / 14)
    with pytest.raises(InputError):
        uniform_focus((0, 1), 0)


def test_index_lists_are_one_based():
    np.testing.assert_array_equal(select_indices(10, [1, 3, 5, 7, 9]), [0, 2, 4, 6, 8])
    with pytest.raises(InputError, match=r"\[11\] are outside 1..10"):
        select_indices(10, [1, 11])
    with pytest.raises(InputError, match="strictly increasing"):
        select_indices(10, [3, 1])
    with pytest.raises(InputError, match="empty"):
        select_indices(10, [])


def test_random_subsets_sorted_and_sized():
    rng = np.random.default_rng(0)
    sizes = set()
    for _ in range(200):
        subset = random_subset(rng, 10, 2, 10)
        assert np.all(np.diff(subset) > 0) and subset.min() >= 0 and subset.max() <= 9
        sizes.add(len(subset))
    assert sizes == set(range(2, 11))
