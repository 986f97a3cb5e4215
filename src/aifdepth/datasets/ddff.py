"""DDFF 12-Scene (Hazirbas et al. 2018): two HDF5 files with focal stacks and disparity.

`ddff-dataset-trainval.h5` holds `stack_train`, `disp_train`, `stack_val`, `disp_val`;
`ddff-dataset-test.h5` holds `stack_test` (no public GT). Stacks are (N,10,H,W,3) uint8,
disparity (N,H,W) with 0 where the depth sensor gave nothing.
"""

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.hdf5 import new_hdf5, open_hdf5
from .base import Dataset, Sample, nan_outside

FOCUS = np.linspace(0.28248, 0.02018, 10)
VALID_RANGE = (0.0202, 0.2825)
FILES = {"train": "ddff-dataset-trainval.h5", "val": "ddff-dataset-trainval.h5", "test": "ddff-dataset-test.h5"}


def _keys(split: str) -> tuple[str, str | None]:
    return f"stack_{split}", (None if split == "test" else f"disp_{split}")


def write_split_files(root, splits: dict[str, tuple[np.ndarray, np.ndarray | None]], attrs: dict) -> None:
    """Write the two files of the real release from {split: (stacks, disparities)}."""
    root = Path(root)
    for filename in sorted(set(FILES.values())):
        with new_hdf5(root / filename) as f:
            for split, (stacks, disparity) in splits.items():
                if FILES[split] != filename:
                    continue
                stack_key, disp_key = _keys(split)
                f.create_dataset(stack_key, data=stacks, chunks=(1, *stacks.shape[1:]), compression="gzip")
                if disp_key is not None:
                    f.create_dataset(disp_key, data=disparity.astype(np.float32), compression="gzip")
            f.attrs.update(attrs)


class DDFF(Dataset):
    name = "ddff"
    splits = ("train", "val", "test")

    def _open(self, split):
        self.check_split(split)
        path = self.root / FILES[split]
        f = open_hdf5(path, "DDFF file", f"place the DDFF 12-Scene {FILES[split]} in {self.root}")
        stack_key, disp_key = _keys(split)
        missing = [k for k in (stack_key, disp_key) if k is not None and k not in f]
        if missing:
            f.close()
            raise InputError(
                f"{path}: missing key(s) {missing} (found {sorted(f.keys()) if f else []}); "
                f"is this the DDFF 12-Scene {FILES[split]}?"
            )
        stack = f[stack_key]
        if stack.ndim != 5 or stack.shape[1] != len(FOCUS) or stack.shape[4] != 3:
            f.close()
            raise InputError(f"{path}: {stack_key} has shape {stack.shape}, expected (N,{len(FOCUS)},H,W,3)")
        if disp_key is not None and f[disp_key].shape[:3] != (stack.shape[0], *stack.shape[2:4]):
            shape = f[disp_key].shape
            f.close()
            raise InputError(f"{path}: {disp_key} has shape {shape}, expected {(stack.shape[0], *stack.shape[2:4])}")
        return f, stack_key, disp_key

    def names(self, split):
        f, stack_key, _ = self._open(split)
        with f:
            return [f"{split}_{i:05d}" for i in range(f[stack_key].shape[0])]

    def load(self, split, name):
        index = int(name.rsplit("_", 1)[1])
        f, stack_key, disp_key = self._open(split)
        with f:
            stack = f[stack_key][index]
            if disp_key is None:
                depth = np.full(stack.shape[1:3], np.nan, np.float32)
            else:
                disparity = np.asarray(f[disp_key][index], np.float32).reshape(stack.shape[1:3])
                depth = nan_outside(disparity, disparity > 0)
        return Sample(name=name, depth=depth, stack=stack, focus=FOCUS.copy())
