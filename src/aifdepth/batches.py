"""Training batches from unified stack files: random crops and flips, and the stack
regimes of the paper (fixed stack, arbitrary sizes per batch, explicit index lists)."""

from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError
from .slices import random_subset, select_indices
from .stackfile import FocalStacks

REGIMES = ("fixed", "arbitrary", "indices")


@dataclass
class StackRegime:
    """Which slices a batch sees: all (`fixed`), a random sorted subset of
    `min_slices`..all per batch (`arbitrary`), or the 1-based `indices`."""

    name: str = "fixed"
    min_slices: int = 2
    indices: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.name not in REGIMES:
            raise InputError(f"stack regime must be one of {REGIMES}, not '{self.name}'")
        if self.name == "indices" and not self.indices:
            raise InputError("the 'indices' stack regime needs a list of 1-based slice indices")

    def slices(self, rng: np.random.Generator, n_slices: int) -> np.ndarray:
        if self.name == "fixed":
            return np.arange(n_slices)
        if self.name == "indices":
            return select_indices(n_slices, self.indices)
        return random_subset(rng, n_slices, self.min_slices, n_slices)


def to_tensors(stack, focus, depth=None, aif=None) -> dict[str, torch.Tensor]:
    """Numpy samples (N,S,H,W,3) uint8 ... to the model's layout: stack (N,S,3,H,W) in [0,1]."""
    batch = {
        "stack": torch.from_numpy(np.ascontiguousarray(stack)).permute(0, 1, 4, 2, 3).float().div_(255.0),
        "focus": torch.from_numpy(np.asarray(focus, np.float32)),
    }
    if depth is not None:
        batch["depth"] = torch.from_numpy(np.asarray(depth, np.float32))
    if aif is not None:
        batch["aif"] = torch.from_numpy(np.ascontiguousarray(aif)).permute(0, 3, 1, 2).float().div_(255.0)
    # Guide image for the edge-aware smoothness: the AiF when known, else the middle slice.
    batch["image"] = batch["aif"] if aif is not None else batch["stack"][:, batch["stack"].shape[1] // 2]
    return batch


class BatchSampler:
    """Deterministic batches: batch k depends only on (seed, k), so a resumed run sees
    exactly the batches an uninterrupted run would have seen."""

    def __init__(self, stacks: FocalStacks, batch_size: int, crop: int, regime: StackRegime, seed: int):
        height, width = stacks.stack.shape[2:4]
        if crop > min(height, width):
            raise InputError(f"crop {crop} is larger than the training images ({height}x{width}); lower 'crop'")
        self.stacks, self.batch_size, self.crop, self.regime, self.seed = stacks, batch_size, crop, regime, seed

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step])
        n, s, height, width = self.stacks.stack.shape[:4]
        samples = rng.integers(0, n, self.batch_size)
        slices = self.regime.slices(rng, s)
        tops = rng.integers(0, height - self.crop + 1, self.batch_size)
        lefts = rng.integers(0, width - self.crop + 1, self.batch_size)
        flips = rng.random((self.batch_size, 2)) < 0.5
        stack, depth, aif = [], [], []
        for sample, top, left, (flip_rows, flip_cols) in zip(samples, tops, lefts, flips):
            window = (slice(top, top + self.crop), slice(left, left + self.crop))
            step_rows, step_cols = (-1 if flip_rows else 1), (-1 if flip_cols else 1)
            stack.append(self.stacks.stack[sample][slices][:, window[0], window[1]][:, ::step_rows, ::step_cols])
            depth.append(self.stacks.depth[sample][window][::step_rows, ::step_cols])
            if self.stacks.aif is not None:
                aif.append(self.stacks.aif[sample][window][::step_rows, ::step_cols])
        focus = self.stacks.focus[samples][:, slices]
        return to_tensors(np.stack(stack), focus, np.stack(depth), np.stack(aif) if aif else None)
