"""The authors' pre-rendered focal stacks (Barron et al. 2015's renderer), read as the official
code reads them: a text list per split, each line the 15 slice images then the disparity map,
paths relative to the list's folder or absolute. The list of a split is `<split>.txt` in the
dataset folder (the official code takes any list with `--txt`: name yours so). The 15 focus
positions are evenly spaced in disparity, as the official test code sets them; the scene's
name is its disparity file's folder (the official code's), or its path where folders repeat.
Disparity: PFM (inf = unknown) or a one-channel image OpenCV reads.

`middlebury_fs` (Middlebury_FS): the 15 Middlebury scenes, disparity [10, 60], test only.
`flyingthings3d_fs` (FlyingThings3D_FS): the training set of the authors' Middlebury models,
disparity [10, 100]."""

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.images import read_one_channel, read_rgb
from ..io.pfm import read_pfm
from .base import Dataset, Sample, nan_outside

SLICES = 15


def read_disparity(path: Path) -> np.ndarray:
    return read_pfm(path) if path.suffix.lower() == ".pfm" else read_one_channel(path, "disparity map")


class StackList(Dataset):
    focus_range: tuple[float, float]

    def __init__(self, root):
        super().__init__(root)
        self._lists: dict[str, dict[str, tuple[list[Path], Path]]] = {}  # a list holds thousands of scenes: read once

    @property
    def focus(self) -> np.ndarray:
        return np.linspace(*self.focus_range, SLICES)

    def list_path(self, split: str) -> Path:
        return self.root / f"{split}.txt"

    def _entries(self, split: str) -> dict[str, tuple[list[Path], Path]]:
        if split not in self._lists:
            self._lists[split] = self._read_list(split)
        return self._lists[split]

    def _read_list(self, split: str) -> dict[str, tuple[list[Path], Path]]:
        """Scene name -> (slice images, disparity), in the list's order."""
        self.check_split(split)
        path = self.list_path(split)
        if not path.is_file():
            raise InputError(
                f"{path}: no list of the {split} split; write the official list there (per line: the "
                f"{SLICES} slice images, then the disparity map)"
            )
        lines = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != SLICES + 1:
                raise InputError(
                    f"{path}, line {number}: {len(fields)} paths; a line holds {SLICES} slice images, then the "
                    "disparity map"
                )
            lines.append([path.parent / field for field in fields])
        if not lines:
            raise InputError(f"{path}: the list is empty")
        folders = [line[-1].parent.name for line in lines]
        unique = len(set(folders)) == len(folders)
        names = (
            folders if unique else ["_".join(line[-1].relative_to(path.parent).with_suffix("").parts) for line in lines]
        )
        return {name: (line[:SLICES], line[SLICES]) for name, line in zip(names, lines)}

    def names(self, split):
        return list(self._entries(split))

    def sample_files(self, split, name):
        images, disparity = self._entries(split)[name]
        return [*images, disparity]

    def load(self, split, name):
        images, disparity_path = self._entries(split)[name]
        missing = [str(p) for p in (*images, disparity_path) if not p.is_file()]
        if missing:
            raise InputError(f"{self.list_path(split)}: scene {name} lacks {missing}")
        disparity = read_disparity(disparity_path)
        stack = np.stack([read_rgb(p, expected_shape=disparity.shape) for p in images])
        depth = nan_outside(disparity, np.isfinite(disparity) & (disparity > 0))
        return Sample(name=name, depth=depth, stack=stack, focus=self.focus)


class MiddleburyFS(StackList):
    name = "middlebury_fs"
    splits = ("test",)
    focus_range = (10.0, 60.0)


class FlyingThings3DFS(StackList):
    name = "flyingthings3d_fs"
    splits = ("train", "test")
    focus_range = (10.0, 100.0)
