"""Mobile Depth (Suwajanakorn et al. 2015): real focal stacks from a phone and a DSLR.

`Aligned/Figure*/<scene>/a<NN>.jpg` are the authors' aligned frames, `Photos/<scene>/a<NN>.jpg`
the frames as captured, and `calibration/<scene>/calibrated.txt` gives one line per
frame whose first column is the focal depth. No GT depth; the synthetic stand-in adds
`synthetic_truth/<scene>.json` (true breathing and motion), `<scene>_depth.pfm` and `<scene>_aif.png`.
"""

import json
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.images import read_rgb
from ..io.pfm import read_pfm
from .base import Dataset, Sample

FRAME_SETS = {"aligned": "Aligned/Figure*/{scene}", "unaligned": "Photos/{scene}"}
# Scenes whose calibrated.txt lists the focal depths in the reverse order of the frames: the
# official test code turns them round before pairing them with a00, a01, ...
REVERSED_CALIBRATION = ("metals",)


def frame_filename(k: int) -> str:
    return f"a{k:02d}.jpg"


def read_focal_depths(path) -> np.ndarray:
    """First column of calibrated.txt, one value per frame."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: calibrated.txt not found (calibration/<scene>/calibrated.txt)")
    values = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                values.append(float(line.split()[0]))
            except ValueError as err:
                raise InputError(f"{path}: line {number} does not start with a focal depth: {line!r}") from err
    if not values:
        raise InputError(f"{path}: no focal depths in calibrated.txt")
    return np.asarray(values)


def focal_depths_for(path, frames: int) -> np.ndarray:
    """The focal depth of each of `frames` frames. Mobile Depth's calibrated.txt ends with one
    line more than there are frames (the lens' focal length), which is dropped."""
    values = read_focal_depths(path)
    if len(values) == frames + 1:
        values = values[:-1]
    if len(values) != frames:
        raise InputError(f"{path}: {len(values)} focal depths for {frames} frames; one line per frame is expected")
    return values


def read_truth(root, scene: str) -> dict | None:
    """Known breathing and motion of a synthetic stack, or None for real captures."""
    path = Path(root) / "synthetic_truth" / f"{scene}.json"
    return json.loads(path.read_text()) if path.is_file() else None


class MobileDepth(Dataset):
    name = "mobiledepth"
    splits = ("test",)

    def __init__(self, root, frames: str = "aligned"):
        super().__init__(root)
        if frames not in FRAME_SETS:
            raise InputError(f"frames must be one of {list(FRAME_SETS)}, not '{frames}'")
        self.frames = frames

    def _frame_dir(self, scene: str) -> Path:
        matches = sorted(self.root.glob(FRAME_SETS[self.frames].format(scene=scene)))
        if not matches:
            raise InputError(
                f"{self.root}: no {self.frames} frames for scene '{scene}' "
                f"(expected {FRAME_SETS[self.frames].format(scene=scene)}/a00.jpg)"
            )
        return matches[0]

    def names(self, split):
        self.check_split(split)
        names = sorted({p.name for p in self.root.glob("Aligned/Figure*/*") if p.is_dir()})
        if not names:
            raise InputError(f"{self.root}: no scenes under Aligned/Figure*/; extract the Mobile Depth archives here")
        return names

    def sample_files(self, split, name):
        frames = sorted(self._frame_dir(name).glob("a*.jpg"))
        return [self.root / "calibration" / name / "calibrated.txt", *frames[:1]]

    def load(self, split, name):
        frame_dir = self._frame_dir(name)
        paths = sorted(frame_dir.glob("a*.jpg"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
        focus = focal_depths_for(self.root / "calibration" / name / "calibrated.txt", len(paths))
        if name in REVERSED_CALIBRATION:
            focus = focus[::-1].copy()
        first = read_rgb(paths[0])
        stack = np.stack([first] + [read_rgb(p, expected_shape=first.shape[:2]) for p in paths[1:]])
        truth = self.root / "synthetic_truth"
        depth_path, aif_path = truth / f"{name}_depth.pfm", truth / f"{name}_aif.png"
        depth = read_pfm(depth_path) if depth_path.is_file() else np.full(first.shape[:2], np.nan, np.float32)
        aif = read_rgb(aif_path, expected_shape=first.shape[:2]) if aif_path.is_file() else None
        return Sample(name=name, depth=depth, aif=aif, stack=stack, focus=focus)
