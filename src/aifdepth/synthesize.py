"""Embedded stand-ins for the five datasets, written in their real on-disk formats.

Every scene is procedural (`aifdepth.synth.scene`), seeded per scene so a dataset is
deterministic for a seed. Light fields are rendered view by view with occlusion;
RGB-D stacks use the same layered defocus renderer as the rest of the package.
"""

import json
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .datasets import ddff, defocusnet, hci, middlebury, mobiledepth, stacklist
from .datasets.spec import SPECS
from .errors import InputError
from .io.atomic import atomic_dir
from .io.images import to_uint8, write_exr_depth, write_rgb
from .io.pfm import write_pfm
from .render.defocus import defocus_stack
from .render.refocus import refocus
from .synth.scene import random_scene, render_lightfield, render_view

# Scene disparity ranges in each dataset's unit, inside the GT masks of the dataset specs.
HCI_DISPARITY = (-2.0, 2.0)
DDFF_PIXEL_DISPARITY = (-1.4, 1.4)  # light-field pixels; mapped onto DDFF's unit below
MIDDLEBURY_DISPARITY = (6.0, 64.0)  # a little wider than the [10, 60] mask, as in the real GT
DEFOCUSNET_DEPTH = (0.1, 1.9)  # metres
MOBILE_FOCAL_DEPTH = (1.0, 10.0)


def scene_rng(seed: int, index: int) -> np.random.Generator:
    """Independent stream per scene: adding scenes never changes the earlier ones."""
    return np.random.default_rng([seed, index])


def ddff_pixels_per_unit() -> float:
    """Light-field pixel disparity per unit of DDFF disparity, mapping the GT range onto ±1.5 px."""
    low, high = ddff.VALID_RANGE
    return 3.0 / (high - low)


def ddff_centre() -> float:
    return float(np.mean(ddff.VALID_RANGE))


def _hci_scene_names(count: int) -> list[tuple[str, str]]:
    """(category, scene) pairs: the validation scenes first, then the training ones."""
    if count < len(hci.VAL_SCENES) + 1:
        raise InputError(f"hci needs at least {len(hci.VAL_SCENES) + 1} scenes (4 validation + training), got {count}")
    names = list(hci.VAL_SCENES) + list(hci.TRAIN_SCENES)
    names += [f"synthetic{i:03d}" for i in range(max(0, count - len(names)))]
    return [(hci.CATEGORY.get(n, "additional"), n) for n in names[:count]]


def synthesize_hci(out: Path, count: int, size, seed: int, heldout: int = 0) -> None:
    """`count` scenes (validation, then training), then `heldout` more that training never sees;
    each scene's stream depends on its index only, so held-out scenes leave the others unchanged."""
    names = _hci_scene_names(count) + [("additional", f"{hci.HELDOUT_PREFIX}{k:03d}") for k in range(heldout)]
    for i, (category, name) in enumerate(tqdm(names, desc="hci", unit="scene")):
        scene = random_scene(scene_rng(seed, i), size[0], size[1], HCI_DISPARITY)
        views = render_lightfield(scene)
        _, disparity = render_view(scene)
        hci.write_scene(out / category / name, to_uint8(views), disparity, HCI_DISPARITY)


def _split_counts(count: int, fractions: tuple[float, ...]) -> list[int]:
    if count < len(fractions):
        raise InputError(f"need at least {len(fractions)} scenes (one per split), got {count}")
    counts = [max(1, round(f * count)) for f in fractions[1:]]
    return [count - sum(counts), *counts]


def _sensor_holes(rng: np.random.Generator, shape) -> np.ndarray:
    """Blobs where a depth sensor returns nothing (DDFF stores 0 there)."""
    holes = np.zeros(shape, np.uint8)
    for _ in range(rng.integers(1, 4)):
        centre = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        axes = (int(rng.integers(2, max(3, shape[1] // 12))), int(rng.integers(2, max(3, shape[0] // 12))))
        cv2.ellipse(holes, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return holes.astype(bool)


def synthesize_ddff(out: Path, count: int, size, seed: int) -> None:
    k, centre = ddff_pixels_per_unit(), ddff_centre()
    focus_pixels = (ddff.FOCUS - centre) * k
    splits, index = {}, 0
    for split, n in zip(("train", "val", "test"), _split_counts(count, (0.7, 0.2, 0.1))):
        stacks, disparities = [], []
        for _ in tqdm(range(n), desc=f"ddff/{split}", unit="stack"):
            rng = scene_rng(seed, index)
            index += 1
            scene = random_scene(rng, size[0], size[1], DDFF_PIXEL_DISPARITY)
            stacks.append(to_uint8(refocus(render_lightfield(scene), focus_pixels)))
            _, pixels = render_view(scene)
            disparity = (pixels / k + centre).astype(np.float32)
            disparity[_sensor_holes(rng, disparity.shape)] = 0.0
            disparities.append(disparity)
        splits[split] = (np.stack(stacks), np.stack(disparities))
    ddff.write_split_files(out, splits, {"synthetic": True, "pixels_per_unit": k, "unit_centre": centre})


def thin_lens_apertures(focus_distances, width: int) -> np.ndarray:
    """Blur radius in pixels per unit of inverse depth (1/m) for each focus distance.

    Thin lens: CoC diameter = A * f / (S1 - f) * |S2 - S1| / S2 = A f S1 / (S1 - f) * |1/S1 - 1/S2|
    with aperture diameter A = f / N; pixel pitch = sensor width / image width.
    """
    f, n = defocusnet.FOCAL_LENGTH, defocusnet.F_NUMBER
    s1 = np.asarray(focus_distances, np.float64)
    pixel = defocusnet.SENSOR_WIDTH / width
    return 0.5 * (f / n) * f * s1 / (s1 - f) / pixel


def synthesize_defocusnet(out: Path, count: int, size, seed: int) -> None:
    folder = out / defocusnet.FOLDER
    inverse_range = (1.0 / DEFOCUSNET_DEPTH[1], 1.0 / DEFOCUSNET_DEPTH[0])
    apertures = thin_lens_apertures(defocusnet.FOCUS_DISTANCES, size[1])
    for index in tqdm(range(count), desc="defocusnet", unit="stack"):
        scene = random_scene(scene_rng(seed, index), size[0], size[1], inverse_range)
        image, inverse_depth = render_view(scene)
        stack = defocus_stack(image, inverse_depth, 1.0 / defocusnet.FOCUS_DISTANCES, apertures)
        for k, slice_ in enumerate(to_uint8(stack)):
            write_rgb(folder / defocusnet.slice_filename(index, k), slice_)
        write_exr_depth(folder / defocusnet.depth_filename(index), 1.0 / inverse_depth)


def stereo_unknown(disparity: np.ndarray) -> np.ndarray:
    """Pixels of the left view hidden in the right view (unknown in stereo GT): a pixel is
    occluded when some pixel to its right lands within half a pixel of it, or left of it,
    in the right image."""
    columns = np.arange(disparity.shape[1], dtype=np.float32)
    right_x = columns[None, :] - disparity
    nearest_right = np.minimum.accumulate(right_x[:, ::-1], axis=1)[:, ::-1]
    beyond = np.full_like(right_x, np.inf)
    beyond[:, :-1] = nearest_right[:, 1:]
    return beyond < right_x + 0.5


def write_rgbd_scenes(out: Path, names: list[str], size, seed: int) -> None:
    folder = out / middlebury.FOLDER
    for index, name in enumerate(tqdm(names, desc=out.name, unit="scene")):
        scene = random_scene(scene_rng(seed, index), size[0], size[1], MIDDLEBURY_DISPARITY)
        image, disparity = render_view(scene)
        disparity = np.where(stereo_unknown(disparity), np.inf, disparity).astype(np.float32)
        middlebury.write_scene(folder / name, to_uint8(image), disparity)


def synthesize_middlebury(out: Path, count: int, size, seed: int) -> None:
    if count > len(middlebury.SCENES):
        raise InputError(f"middlebury has {len(middlebury.SCENES)} scenes, asked for {count}")
    write_rgbd_scenes(out, list(middlebury.SCENES[:count]), size, seed)


def synthesize_rgbd(out: Path, count: int, size, seed: int) -> None:
    write_rgbd_scenes(out, [f"synthetic{i:03d}" for i in range(count)], size, seed)


# The authors' renders: scenes a little beyond their focus range, blurred like our Middlebury stacks.
STACK_LIST_APERTURE = 0.15


def write_stack_list(out: Path, focus_range, splits: dict[str, list[str]], size, seed: int) -> None:
    """RGB-D scenes rendered into 15-slice stacks and listed per split as the official code reads
    them: `scenes/<name>/NN.png` and `disp.pfm`, one line per scene in `<split>.txt`."""
    margin = 0.08 * (focus_range[1] - focus_range[0])
    disparity_range = (focus_range[0] - margin, focus_range[1] + margin)
    focus = np.linspace(*focus_range, stacklist.SLICES)
    index = 0
    for split, names in splits.items():
        lines = []
        for name in tqdm(names, desc=f"{out.name}/{split}", unit="scene"):
            scene = random_scene(scene_rng(seed, index), size[0], size[1], disparity_range)
            index += 1
            image, disparity = render_view(scene)
            stack = to_uint8(defocus_stack(image, disparity, focus, STACK_LIST_APERTURE))
            folder = out / "scenes" / name
            paths = [f"scenes/{name}/{k:02d}.png" for k in range(stacklist.SLICES)]
            for path, image_slice in zip(paths, stack):
                write_rgb(out / path, image_slice)
            write_pfm(folder / "disp.pfm", disparity.astype(np.float32))
            lines.append(" ".join([*paths, f"scenes/{name}/disp.pfm"]))
        (out / f"{split}.txt").write_text("\n".join(lines) + "\n")


def synthesize_middlebury_fs(out: Path, count: int, size, seed: int) -> None:
    write_stack_list(
        out, stacklist.MiddleburyFS.focus_range, {"test": [f"scene{i:02d}" for i in range(count)]}, size, seed
    )


def synthesize_flyingthings3d_fs(out: Path, count: int, size, seed: int) -> None:
    """80 % of the scenes train, the rest (at least one) test."""
    train = min(count - 1, round(0.8 * count)) if count > 1 else 0
    names = [f"scene{i:03d}" for i in range(count)]
    write_stack_list(
        out, stacklist.FlyingThings3DFS.focus_range, {"train": names[:train], "test": names[train:]}, size, seed
    )


def breathing_and_motion(rng: np.random.Generator, frames: int, size, breathing: float, motion: float) -> list[dict]:
    """Per frame, a known similarity transform from the reference frame (frame 0) to the
    captured frame: focus breathing as a scale about the centre, hand shake as a small
    rotation and a translation random walk bounded by `motion` pixels."""
    centre = ((size[1] - 1) / 2.0, (size[0] - 1) / 2.0)
    walk = np.cumsum(rng.normal(0.0, 1.0, (frames, 2)), axis=0)
    walk -= walk[0]
    peak = np.abs(walk).max()
    walk *= motion * rng.uniform(0.5, 1.0) / peak if peak > 0 else 0.0
    transforms = []
    for k in range(frames):
        scale = 1.0 + breathing * k / max(1, frames - 1)
        angle = float(rng.normal(0.0, 0.15)) if k else 0.0
        matrix = cv2.getRotationMatrix2D(centre, angle, scale)
        matrix[:, 2] += walk[k]
        transforms.append(
            {
                "scale": scale,
                "rotation_deg": angle,
                "translation": walk[k].tolist(),
                "centre": list(centre),
                "matrix": matrix.tolist(),
            }
        )
    return transforms


def synthesize_mobiledepth(
    out: Path,
    count: int,
    size,
    seed: int,
    frames: int = 10,
    breathing: float = 0.02,
    motion: float = 3.0,
    aperture: float = 0.8,
) -> None:
    for index in tqdm(range(count), desc="mobiledepth", unit="scene"):
        name = f"scene{index:02d}"
        rng = scene_rng(seed, index)
        scene = random_scene(rng, size[0], size[1], MOBILE_FOCAL_DEPTH)
        image, disparity = render_view(scene)
        focus = np.linspace(MOBILE_FOCAL_DEPTH[1], MOBILE_FOCAL_DEPTH[0], frames)  # near to far, as an AF sweep
        stack = defocus_stack(image, disparity, focus, aperture)
        transforms = breathing_and_motion(rng, frames, size, breathing, motion)
        for k, (slice_, transform) in enumerate(zip(to_uint8(stack), transforms)):
            write_rgb(out / "Aligned" / "Figure1" / name / mobiledepth.frame_filename(k), slice_)
            captured = cv2.warpAffine(
                slice_,
                np.array(transform["matrix"]),
                (size[1], size[0]),
                flags=cv2.INTER_CUBIC,
                borderMode=cv2.BORDER_REFLECT,
            )
            write_rgb(out / "Photos" / name / mobiledepth.frame_filename(k), captured)
        calibration = out / "calibration" / name / "calibrated.txt"
        calibration.parent.mkdir(parents=True, exist_ok=True)
        calibration.write_text("".join(f"{f:.6f}\n" for f in focus))
        truth = out / "synthetic_truth"
        write_pfm(truth / f"{name}_depth.pfm", disparity)
        write_rgb(truth / f"{name}_aif.png", to_uint8(image))
        (truth / f"{name}.json").write_text(
            json.dumps(
                {
                    "transforms": transforms,
                    "aperture": aperture,
                    "breathing": breathing,
                    "motion": motion,
                    "note": "matrix maps reference-frame pixels (frame 0) to captured-frame pixels",
                },
                indent=1,
            )
        )


SYNTHESIZERS = {
    "hci": synthesize_hci,
    "ddff": synthesize_ddff,
    "defocusnet": synthesize_defocusnet,
    "middlebury": synthesize_middlebury,
    "rgbd": synthesize_rgbd,
    "mobiledepth": synthesize_mobiledepth,
    "middlebury_fs": synthesize_middlebury_fs,
    "flyingthings3d_fs": synthesize_flyingthings3d_fs,
}


def synthesize(dataset: str, out, scenes: int | None = None, size=None, seed: int = 0, heldout: int = 0) -> None:
    """Write one dataset into `out` atomically (the folder appears only when complete)."""
    if dataset not in SYNTHESIZERS:
        raise InputError(f"unknown dataset '{dataset}'; choose one of {sorted(SYNTHESIZERS)}")
    if heldout and dataset != "hci":
        raise InputError(f"synthesize {dataset}: held-out scenes (heldout: {heldout}) exist for hci only")
    count = SPECS[dataset].synthetic_scenes if scenes is None else scenes
    size = tuple(size or SPECS[dataset].synthetic_size)
    if count < 1 or len(size) != 2 or min(size) < 16:
        raise InputError(
            f"synthesize {dataset}: need >= 1 scene and a size (height, width) of at least 16 px, "
            f"got {count} scenes of {size}"
        )
    with atomic_dir(out) as tmp:
        extra = {"heldout": heldout} if heldout else {}
        SYNTHESIZERS[dataset](tmp, count, size, seed, **extra)
