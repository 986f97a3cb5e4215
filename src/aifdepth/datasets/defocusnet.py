"""DefocusNet / FoD500 (Maximov et al. 2020): `fs_6/{idx:06d}_{k:02d}All.tif` + `{idx:06d}Dpt.exr`.

Five slices per stack, focus distances in metres, depth EXR in metres; the first 80 %
of the indices (0-399 of 500) train, the rest test.
"""

import re

import numpy as np

from ..errors import InputError
from ..io.images import read_exr_depth, read_rgb
from .base import Dataset, Sample, nan_outside

FOCUS_DISTANCES = np.array([0.1, 0.15, 0.3, 0.7, 1.5])
FOCAL_LENGTH = 2.9e-3
F_NUMBER = 1.0
SENSOR_WIDTH = 3.1e-3  # metres, as in the FoD500 renders
TRAIN_FRACTION = 0.8
FOLDER = "fs_6"


def slice_filename(index: int, k: int) -> str:
    return f"{index:06d}_{k:02d}All.tif"


def depth_filename(index: int) -> str:
    return f"{index:06d}Dpt.exr"


class DefocusNet(Dataset):
    name = "defocusnet"
    splits = ("train", "test")

    def _indices(self) -> list[int]:
        folder = self.root / FOLDER
        indices = sorted(
            {int(m.group(1)) for p in folder.glob("*Dpt.exr") if (m := re.fullmatch(r"(\d{6})Dpt\.exr", p.name))}
        )
        if not indices:
            raise InputError(f"{folder}: no '<index>Dpt.exr' depth files found; extract fs_6.zip into {self.root}")
        return indices

    def names(self, split):
        self.check_split(split)
        indices = self._indices()
        n_train = round(TRAIN_FRACTION * len(indices))
        chosen = indices[:n_train] if split == "train" else indices[n_train:]
        return [f"{i:06d}" for i in chosen]

    def sample_files(self, split, name):
        folder, index = self.root / FOLDER, int(name)
        return [folder / depth_filename(index)] + [
            folder / slice_filename(index, k) for k in range(len(FOCUS_DISTANCES))
        ]

    def load(self, split, name):
        folder = self.root / FOLDER
        index = int(name)
        paths = [folder / slice_filename(index, k) for k in range(len(FOCUS_DISTANCES))]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise InputError(f"{folder}: stack {name} lacks {missing}; re-extract fs_6.zip")
        depth = read_exr_depth(folder / depth_filename(index))
        stack = np.stack([read_rgb(p, expected_shape=depth.shape) for p in paths])
        depth = nan_outside(depth, np.isfinite(depth) & (depth > 0))
        return Sample(name=name, depth=depth, stack=stack, focus=FOCUS_DISTANCES.copy())
