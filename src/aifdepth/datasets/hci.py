"""4D Light Field benchmark (Honauer et al. 2016): `<category>/<scene>/input_CamNNN.png`.

Cam index = 9*row + col (row = grid row u, col = grid column v), centre Cam040;
`gt_disp_lowres.pfm` is the centre view's disparity; `parameters.cfg` describes the rig.
"""

import configparser
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.images import read_rgb, write_rgb
from ..io.pfm import read_pfm, write_pfm
from ..parallel import thread_count
from .base import Dataset, Sample, nan_outside

GRID = 9
VAL_SCENES = ("boxes", "cotton", "dino", "sideboard")
TEST_SCENES = ("bedroom", "bicycle", "herbs", "origami")  # no public GT
HELDOUT_PREFIX = "heldout"  # synthetic scenes kept out of training, to rank variants on more than 4 scenes
TRAIN_SCENES = (
    "antinous",
    "boardgames",
    "dishes",
    "greek",
    "kitchen",
    "medieval2",
    "museum",
    "pens",
    "pillows",
    "platonic",
    "rosemary",
    "table",
    "tomb",
    "tower",
    "town",
    "vinyl",
    "backgammon",
    "dots",
    "pyramids",
    "stripes",
)
CATEGORY = {
    **dict.fromkeys(VAL_SCENES, "training"),
    **dict.fromkeys(TEST_SCENES, "test"),
    **dict.fromkeys(("backgammon", "dots", "pyramids", "stripes"), "stratified"),
}


def view_filename(u: int, v: int) -> str:
    return f"input_Cam{GRID * u + v:03d}.png"


def read_parameters(path) -> configparser.ConfigParser:
    path = Path(path)
    cfg = configparser.ConfigParser()
    if not path.is_file():
        raise InputError(f"{path}: parameters.cfg not found; every HCI scene folder has one")
    try:
        cfg.read(path)
        for section, key in (
            ("intrinsics", "image_resolution_x_px"),
            ("intrinsics", "image_resolution_y_px"),
            ("extrinsics", "num_cams_x"),
            ("extrinsics", "num_cams_y"),
        ):
            cfg.getint(section, key)
    except (configparser.Error, ValueError) as err:
        raise InputError(f"{path}: malformed parameters.cfg ({err})") from err
    return cfg


def read_scene(scene_dir) -> Sample:
    """Read all 81 views, the GT disparity and check them against parameters.cfg."""
    scene_dir = Path(scene_dir)
    cfg = read_parameters(scene_dir / "parameters.cfg")
    width = cfg.getint("intrinsics", "image_resolution_x_px")
    height = cfg.getint("intrinsics", "image_resolution_y_px")
    grid = (cfg.getint("extrinsics", "num_cams_y"), cfg.getint("extrinsics", "num_cams_x"))
    if grid != (GRID, GRID):
        raise InputError(f"{scene_dir / 'parameters.cfg'}: a {GRID}x{GRID} camera grid is expected, found {grid}")
    missing = [
        view_filename(u, v) for u in range(GRID) for v in range(GRID) if not (scene_dir / view_filename(u, v)).is_file()
    ]
    if missing:
        raise InputError(
            f"{scene_dir}: missing {len(missing)} of {GRID * GRID} views ({', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}); re-extract the scene"
        )
    views = np.empty((GRID, GRID, height, width, 3), np.uint8)

    def read_view(index):  # OpenCV decodes with the GIL released: the views decode side by side
        u, v = divmod(index, GRID)
        views[u, v] = read_rgb(scene_dir / view_filename(u, v), expected_shape=(height, width))

    with ThreadPoolExecutor(max_workers=thread_count()) as pool:
        list(pool.map(read_view, range(GRID * GRID)))
    disparity_path = scene_dir / "gt_disp_lowres.pfm"
    if disparity_path.is_file():
        disparity = read_pfm(disparity_path)
        if disparity.shape != (height, width):
            raise InputError(f"{disparity_path}: disparity is {disparity.shape}, views are {(height, width)}")
        depth = nan_outside(disparity, np.isfinite(disparity))
    else:
        depth = np.full((height, width), np.nan, np.float32)
    centre = GRID // 2
    return Sample(name=scene_dir.name, depth=depth, aif=views[centre, centre].copy(), views=views)


def write_scene(scene_dir, views: np.ndarray, disparity: np.ndarray, disp_range: tuple[float, float]) -> None:
    """Write a scene in the benchmark's layout (views uint8 (9,9,H,W,3))."""
    scene_dir = Path(scene_dir)
    scene_dir.mkdir(parents=True, exist_ok=True)
    height, width = views.shape[2:4]
    for u in range(GRID):
        for v in range(GRID):
            write_rgb(scene_dir / view_filename(u, v), views[u, v])
    write_pfm(scene_dir / "gt_disp_lowres.pfm", disparity)
    cfg = configparser.ConfigParser()
    cfg["intrinsics"] = {
        "focal_length_mm": "100",
        "image_resolution_x_px": str(width),
        "image_resolution_y_px": str(height),
        "sensor_size_mm": "35",
        "fstop": "100",
    }
    cfg["extrinsics"] = {"num_cams_x": str(GRID), "num_cams_y": str(GRID), "baseline_mm": "90", "focus_distance_m": "8"}
    cfg["meta"] = {
        "disp_min": f"{disp_range[0]:.4f}",
        "disp_max": f"{disp_range[1]:.4f}",
        "depth_map_scale": "100",
        "synthetic": "true",
    }
    with open(scene_dir / "parameters.cfg", "w") as f:
        cfg.write(f)


class HCI(Dataset):
    name = "hci"
    splits = ("train", "val", "heldout")

    def _scene_dirs(self) -> dict[str, Path]:
        return {p.parent.name: p.parent for p in sorted(self.root.glob("*/*/parameters.cfg"))}

    def names(self, split):
        self.check_split(split)
        found = self._scene_dirs()
        if split == "val":
            missing = [s for s in VAL_SCENES if s not in found]
            if missing:
                raise InputError(
                    f"{self.root}: validation scenes {missing} not found (expected <category>/<scene>/parameters.cfg)"
                )
            return list(VAL_SCENES)
        if split == "heldout":  # the synthetic stand-in's only; the real release has no more scenes with GT
            return [s for s in found if s.startswith(HELDOUT_PREFIX)]
        names = [s for s in found if s not in VAL_SCENES and s not in TEST_SCENES and not s.startswith(HELDOUT_PREFIX)]
        if not names:
            raise InputError(f"{self.root}: no training scenes found (expected <category>/<scene>/parameters.cfg)")
        return names

    def load(self, split, name):
        return read_scene(self._scene_dirs()[name])

    def sample_files(self, split, name):
        scene_dir = self._scene_dirs()[name]
        views = [scene_dir / view_filename(u, v) for u in range(GRID) for v in range(GRID)]
        return [scene_dir / "parameters.cfg", scene_dir / "gt_disp_lowres.pfm", *views]
