"""Middlebury 2014 stereo, MiddEval3 quarter resolution (Scharstein et al. 2014).

`trainingQ/<scene>/im0.png`, `disp0GT.pfm` (inf = unknown) and `calib.txt`. The paper
renders focal stacks from im0 + disparity; it is test-only. The procedural RGB-D
training set (`rgbd`) uses the same layout, so it is read by the same class.
"""

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.images import read_rgb, write_rgb
from ..io.pfm import read_pfm, write_pfm
from .base import Dataset, Sample, nan_outside

SCENES = (
    "Adirondack",
    "ArtL",
    "Jadeplant",
    "Motorcycle",
    "MotorcycleE",
    "Piano",
    "PianoL",
    "Pipes",
    "Playroom",
    "Playtable",
    "PlaytableP",
    "Recycle",
    "Shelves",
    "Teddy",
    "Vintage",
)
FOLDER = "trainingQ"


def read_calib(path) -> dict[str, str]:
    """calib.txt as key -> raw value; width and height are checked to be integers."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: calib.txt not found; every MiddEval3 scene folder has one")
    entries = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            entries[key.strip()] = value.strip()
    for key in ("width", "height", "ndisp"):
        if not entries.get(key, "").isdigit():
            raise InputError(f"{path}: calib.txt lacks an integer '{key}'")
    return entries


def write_scene(scene_dir, image: np.ndarray, disparity: np.ndarray) -> None:
    """Write im0.png, disp0GT.pfm (NaN stored as inf, as the benchmark does) and calib.txt."""
    scene_dir = Path(scene_dir)
    height, width = disparity.shape
    write_rgb(scene_dir / "im0.png", image)
    write_pfm(scene_dir / "disp0GT.pfm", np.where(np.isfinite(disparity), disparity, np.inf))
    focal = 1.2 * width
    valid = disparity[np.isfinite(disparity)]
    (scene_dir / "calib.txt").write_text(
        f"cam0=[{focal:.2f} 0 {width / 2:.2f}; 0 {focal:.2f} {height / 2:.2f}; 0 0 1]\n"
        f"cam1=[{focal:.2f} 0 {width / 2:.2f}; 0 {focal:.2f} {height / 2:.2f}; 0 0 1]\n"
        f"doffs=0\nbaseline=160.0\nwidth={width}\nheight={height}\n"
        f"ndisp={int(np.ceil(valid.max())) + 8}\nisint=0\n"
        f"vmin={int(np.floor(valid.min()))}\nvmax={int(np.ceil(valid.max()))}\ndyavg=0\ndymax=0\n"
    )


class Middlebury(Dataset):
    name = "middlebury"
    splits = ("test",)

    def names(self, split):
        self.check_split(split)
        folder = self.root / FOLDER
        names = sorted(p.parent.name for p in folder.glob("*/im0.png"))
        if not names:
            raise InputError(
                f"{folder}: no '<scene>/im0.png' found; extract MiddEval3-data-Q.zip and MiddEval3-GT0-Q.zip here"
            )
        return names

    def sample_files(self, split, name):
        scene_dir = self.root / FOLDER / name
        return [scene_dir / "im0.png", scene_dir / "disp0GT.pfm", scene_dir / "calib.txt"]

    def load(self, split, name):
        scene_dir = self.root / FOLDER / name
        calib = read_calib(scene_dir / "calib.txt")
        shape = (int(calib["height"]), int(calib["width"]))
        image = read_rgb(scene_dir / "im0.png", expected_shape=shape)
        disparity = read_pfm(scene_dir / "disp0GT.pfm")
        if disparity.shape != shape:
            raise InputError(f"{scene_dir / 'disp0GT.pfm'}: disparity is {disparity.shape}, calib.txt says {shape}")
        depth = nan_outside(disparity, np.isfinite(disparity))
        return Sample(name=name, depth=depth, aif=image)


class RGBD(Middlebury):
    """The procedural RGB-D training set, stored in the MiddEval3 layout."""

    name = "rgbd"
    splits = ("train",)
