"""Focal-stack layouts the experiments use: uniform sizes, 1-based index lists, random subsets."""

import numpy as np

from .errors import InputError


def focus_positions(values, name: str = "focus") -> np.ndarray:
    """Focus positions as a float64 vector, checked: non-empty, one-dimensional, finite."""
    positions = np.asarray(values, dtype=np.float64)
    if positions.ndim != 1 or positions.size == 0:
        raise InputError(
            f"{name} must be a non-empty 1-D sequence of focus positions (e.g. -2.5 0 2.5), got shape {positions.shape}"
        )
    if not np.all(np.isfinite(positions)):
        raise InputError(f"{name} must be finite, got {positions.tolist()}")
    return positions


def uniform_focus(focus_range: tuple[float, float], slices: int) -> np.ndarray:
    """`slices` focus positions evenly spaced over the range, ends included."""
    if slices < 1:
        raise InputError(f"a focal stack needs at least one slice, got {slices}")
    return np.linspace(focus_range[0], focus_range[1], slices, dtype=np.float64)


def select_indices(n_slices: int, indices_1based) -> np.ndarray:
    """0-based positions of a 1-based index list such as (1,3,5,7,9), checked against the stack."""
    indices = np.asarray(list(indices_1based), dtype=int)
    if indices.size == 0:
        raise InputError("the index list is empty; give 1-based slice numbers such as 1,3,5,7,9")
    bad = indices[(indices < 1) | (indices > n_slices)]
    if bad.size:
        raise InputError(f"slice indices {bad.tolist()} are outside 1..{n_slices} (indices are 1-based)")
    if np.any(np.diff(indices) <= 0):
        raise InputError(f"slice indices {indices.tolist()} must be strictly increasing (stack order)")
    return indices - 1


def random_subset(rng: np.random.Generator, n_slices: int, min_size: int, max_size: int) -> np.ndarray:
    """A sorted random subset of 0-based slices whose size is uniform in [min_size, max_size]."""
    if not 1 <= min_size <= max_size <= n_slices:
        raise InputError(f"random subset sizes must satisfy 1 <= {min_size} <= {max_size} <= {n_slices}")
    size = int(rng.integers(min_size, max_size + 1))
    return np.sort(rng.choice(n_slices, size=size, replace=False))
