"""One base for the five datasets: each subclass reads its real on-disk format.

A sample carries what its dataset ships: a light field (`views`), a focal stack
(`stack` + `focus`) or an RGB image with disparity (`image` + `depth`), plus the GT
depth and the all-in-focus image when known. Turning samples into the unified stack
file is the job of `aifdepth.stackbuild`, so readers stay format-only.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .spec import SPECS


@dataclass
class Sample:
    name: str
    depth: np.ndarray  # (H,W) float32, NaN = unknown
    aif: np.ndarray | None = None  # (H,W,3) uint8
    views: np.ndarray | None = None  # (U,V,H,W,3) uint8 light field
    stack: np.ndarray | None = None  # (S,H,W,3) uint8 focal stack
    focus: np.ndarray | None = None  # (S,) focus positions in the dataset's unit


class Dataset(ABC):
    """A dataset folder in its real layout."""

    name: str
    splits: tuple[str, ...]

    def __init__(self, root):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(
                f"{self.root}: dataset folder for '{self.name}' not found; synthesize it "
                f"(`aifdepth synthesize {self.name} {self.root}`) or point the config at the real data"
            )

    @property
    def unit(self) -> str:
        """Of depth and focus positions, as the dataset's spec says."""
        return SPECS[self.name].unit

    def check_split(self, split: str) -> None:
        if split not in self.splits:
            raise InputError(f"dataset '{self.name}' has splits {list(self.splits)}, not '{split}'")

    @abstractmethod
    def names(self, split: str) -> list[str]:
        """Sample names of a split, in a stable order."""

    @abstractmethod
    def load(self, split: str, name: str) -> Sample:
        """Read one sample, validating shapes and files."""

    def samples(self, split: str):
        for name in self.names(split):
            yield self.load(split, name)

    def sample_files(self, split: str, name: str) -> list[Path]:
        """Files one sample needs; checked by `check_layout` without reading them."""
        return []

    def check_layout(self) -> None:
        """Validate a folder the user points at, before any long job reads it: every split has
        samples and every sample its files. Raises one InputError listing what is missing."""
        missing = [
            path
            for split in self.splits
            for name in self.names(split)
            for path in self.sample_files(split, name)
            if not path.is_file()
        ]
        if missing:
            shown = ", ".join(str(p.relative_to(self.root)) for p in missing[:8])
            more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            raise InputError(
                f"{self.root}: not a complete {self.name} folder; missing {len(missing)} file(s): {shown}{more}"
            )


def nan_outside(depth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """GT depth as float32 with NaN wherever it is unknown."""
    depth = np.asarray(depth, dtype=np.float32).copy()
    depth[~valid] = np.nan
    return depth
