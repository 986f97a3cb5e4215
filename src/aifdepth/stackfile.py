"""The unified focal-stack file every dataset is converted to.

`stack` (N,S,H,W,3) uint8, `focus` (N,S) float32 in the dataset's unit, `depth` (N,H,W)
float32 (NaN = unknown), optional `aif` (N,H,W,3) uint8, `name` (N) strings; attrs
`dataset`, `unit`, `source` and the render parameters. Chunked per sample, compressed.
"""

import json
from dataclasses import dataclass, field

import h5py
import numpy as np

from .errors import InputError, rebuild_hint
from .io.hdf5 import new_hdf5, open_hdf5

REQUIRED_KEYS = ("stack", "focus", "depth", "name")
REQUIRED_ATTRS = ("dataset", "unit", "source")
MIN_SLICES = 2  # depth from focus compares slices: one image has nothing to compare
TOO_FEW_SLICES = f"a focal stack needs at least {MIN_SLICES} images"
UNITS = ("disparity", "metres")
SOURCES = ("real", "synthetic")


@dataclass
class FocalStacks:
    stack: np.ndarray
    focus: np.ndarray
    depth: np.ndarray
    names: list[str]
    dataset: str
    unit: str
    source: str
    aif: np.ndarray | None = None
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        n, s, h, w, c = np.shape(self.stack)
        problems = []
        if c != 3 or np.asarray(self.stack).dtype != np.uint8:
            problems.append(
                f"stack must be (N,S,H,W,3) uint8, got {np.shape(self.stack)} {np.asarray(self.stack).dtype}"
            )
        if np.shape(self.focus) != (n, s):
            problems.append(f"focus must be {(n, s)}, got {np.shape(self.focus)}")
        if np.shape(self.depth) != (n, h, w):
            problems.append(f"depth must be {(n, h, w)}, got {np.shape(self.depth)}")
        if self.aif is not None and np.shape(self.aif) != (n, h, w, 3):
            problems.append(f"aif must be {(n, h, w, 3)}, got {np.shape(self.aif)}")
        if len(self.names) != n:
            problems.append(f"{n} samples but {len(self.names)} names")
        if self.unit not in UNITS or self.source not in SOURCES:
            problems.append(f"unit must be one of {UNITS} and source one of {SOURCES}")
        if problems:
            raise ValueError("invalid focal stacks: " + "; ".join(problems))

    def __len__(self) -> int:
        return len(self.names)


def write_stacks(path, stacks: FocalStacks) -> None:
    """Write atomically: a crash never leaves a file that looks complete."""
    _n, s, h, w, _ = stacks.stack.shape
    options = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    with new_hdf5(path) as f:
        f.create_dataset("stack", data=stacks.stack, chunks=(1, s, h, w, 3), **options)
        f.create_dataset("focus", data=np.asarray(stacks.focus, np.float32))
        f.create_dataset("depth", data=np.asarray(stacks.depth, np.float32), chunks=(1, h, w), **options)
        if stacks.aif is not None:
            f.create_dataset("aif", data=stacks.aif, chunks=(1, h, w, 3), **options)
        f.create_dataset("name", data=np.array(stacks.names, dtype=object), dtype=h5py.string_dtype())
        f.attrs["dataset"] = stacks.dataset
        f.attrs["unit"] = stacks.unit
        f.attrs["source"] = stacks.source
        f.attrs["params"] = json.dumps(stacks.params, sort_keys=True)


def read_stacks(path) -> FocalStacks:
    """Read a whole stack file; a missing key, a corrupt chunk or inconsistent shapes name the
    file and a command that rebuilds it."""
    fix = rebuild_hint(path, "write it again with `aifdepth build-stack` (or the command that made it)")
    f = open_hdf5(path, "stack file", fix)
    with f:
        missing = [k for k in REQUIRED_KEYS if k not in f] + [f"attr {a}" for a in REQUIRED_ATTRS if a not in f.attrs]
        if missing:
            raise InputError(f"{path}: not a unified stack file, missing {', '.join(missing)}; {fix}")
        try:
            return FocalStacks(
                stack=f["stack"][()],
                focus=f["focus"][()],
                depth=f["depth"][()],
                names=[n.decode() if isinstance(n, bytes) else str(n) for n in f["name"][()]],
                dataset=str(f.attrs["dataset"]),
                unit=str(f.attrs["unit"]),
                source=str(f.attrs["source"]),
                aif=f["aif"][()] if "aif" in f else None,
                params=json.loads(f.attrs.get("params", "{}")),
            )
        except OSError as err:  # h5py: a chunk that fails to decompress, a truncated file
            raise InputError(f"{path}: corrupt stack file, its data cannot be read ({err}); {fix}") from None
        except ValueError as err:  # FocalStacks' shape checks, bad params JSON
            raise InputError(f"{path}: inconsistent stack file ({err}); {fix}") from None


def require_focal_stacks(stacks: FocalStacks, path) -> FocalStacks:
    """The stacks a model may predict from: at least MIN_SLICES slices each."""
    slices = stacks.stack.shape[1]
    if slices < MIN_SLICES:
        raise InputError(f"{path}: {TOO_FEW_SLICES}, its stacks have {slices}; render it with more focus positions")
    return stacks
