"""Turn any dataset into the unified stack file: refocus light fields, defocus RGB-D
images, or take the stacks a dataset ships; then apply the stack layout."""

from pathlib import Path

import numpy as np
from tqdm import tqdm

from .align import align_stack
from .datasets.base import Dataset
from .datasets.hci import read_parameters, read_scene
from .errors import InputError
from .io.images import read_rgb, to_uint8
from .io.pfm import read_pfm
from .render.defocus import defocus_stack
from .render.refocus import refocus
from .slices import random_subset, select_indices, uniform_focus
from .stackfile import FocalStacks


def sample_apertures(aperture, n: int, seed: int) -> np.ndarray:
    """One aperture per sample: a constant, or uniform in [lo, hi] to vary the blur strength."""
    if np.ndim(aperture) == 0:
        return np.full(n, float(aperture))
    low, high = aperture
    return np.random.default_rng(seed).uniform(low, high, n)


def build_stacks(
    dataset: Dataset,
    split: str,
    *,
    source: str,
    focus_range: tuple[float, float] | None = None,
    slices: int | None = None,
    indices=None,
    random_count: int | None = None,
    aperture=None,
    seed: int = 0,
    names: list[str] | None = None,
    align: str | None = None,
) -> FocalStacks:
    """Stacks of one split. Rendered datasets need `focus_range` and `slices` (and
    `aperture` for RGB-D); `indices` (1-based) or `random_count` then pick slices.
    `align` ("affine" or "homography") registers every slice of a shipped stack to its first
    (focus breathing, camera motion) before anything else."""
    names = names or dataset.names(split)
    if not names:
        raise InputError(f"{dataset.root}: the {dataset.name} '{split}' split has no samples")
    rng = np.random.default_rng(seed)
    apertures = sample_apertures(aperture, len(names), seed) if aperture is not None else None
    stacks, focus, depth, aif = [], [], [], []
    alignments = {}
    for i, name in enumerate(tqdm(names, desc=f"{dataset.name}/{split}", unit="stack", leave=False)):
        sample = dataset.load(split, name)
        if sample.stack is not None:
            if slices is not None and slices != len(sample.focus):
                raise InputError(
                    f"{dataset.name}: sample {name} ships {len(sample.focus)} slices, the layout asks for "
                    f"{slices}; drop 'slices' or use 'indices' to pick a subset"
                )
            stack, positions = sample.stack, np.asarray(sample.focus, np.float64)
            if align is not None:
                alignment = align_stack(list(stack), reference=0, motion=align)
                stack = np.stack(alignment.images)
                alignments[name] = alignment.record()
        else:
            if focus_range is None or slices is None:
                raise InputError(f"{dataset.name}: rendered stacks need 'focus_range' and 'slices' in the layout")
            positions = uniform_focus(focus_range, slices)
            if sample.views is not None:
                stack = to_uint8(refocus(sample.views, positions))
            else:
                if apertures is None:
                    raise InputError(f"{dataset.name}: RGB-D stacks need an 'aperture' in the layout")
                stack = to_uint8(defocus_stack(sample.aif, sample.depth, positions, apertures[i]))
        if indices is not None:
            chosen = select_indices(len(positions), indices)
        elif random_count is not None:
            chosen = random_subset(rng, len(positions), random_count, random_count)
        else:
            chosen = np.arange(len(positions))
        stacks.append(stack[chosen])
        focus.append(positions[chosen])
        depth.append(sample.depth)
        aif.append(sample.aif)
    if len({s.shape for s in stacks}) > 1:
        raise InputError(
            f"{dataset.name}/{split}: samples differ in size {sorted({s.shape for s in stacks})}; "
            "write them to separate stack files (one per sample)"
        )
    params = {
        "split": split,
        "focus_range": focus_range,
        "slices": slices,
        "indices": None if indices is None else list(indices),
        "random_count": random_count,
        "aperture": aperture,
        "seed": seed,
        "root": str(dataset.root),
        "align": align,
        **({"alignments": alignments} if alignments else {}),
    }
    return FocalStacks(
        stack=np.stack(stacks),
        focus=np.stack(focus).astype(np.float32),
        depth=np.stack(depth).astype(np.float32),
        aif=None if any(a is None for a in aif) else np.stack(aif),
        names=list(names),
        dataset=dataset.name,
        unit=dataset.unit,
        source=source,
        params=params,
    )


def defocus_files(image_path, disparity_path, focus, aperture: float, dataset: str, source: str) -> FocalStacks:
    """`aifdepth defocus`: an RGB image and its PFM disparity (inf/NaN = unknown) as a one-sample stack."""
    disparity, image = read_pfm(disparity_path), read_rgb(image_path)
    if image.shape[:2] != disparity.shape:
        raise InputError(
            f"{image_path}: image is {image.shape[1]}x{image.shape[0]} (WxH) but {disparity_path} is "
            f"{disparity.shape[1]}x{disparity.shape[0]}; they must match"
        )
    if not np.isfinite(aperture) or aperture < 0:
        raise InputError(f"--aperture must be a finite number >= 0, got {aperture}")
    if not np.isfinite(disparity).any():
        raise InputError(
            f"{disparity_path}: the disparity has no finite value (all inf/NaN = unknown); nothing to place"
        )
    name = Path(image_path).parent.name or Path(image_path).stem
    origin = {"image": str(image_path), "disparity": str(disparity_path)}
    return defocused_image(image, disparity, focus, aperture, name=name, dataset=dataset, source=source, params=origin)


def defocused_image(
    image, disparity, focus, aperture: float, name: str, dataset: str, source: str, params: dict
) -> FocalStacks:
    """One image and its disparity (inf/NaN = unknown) as a one-sample stack file's contents,
    defocused by the layered renderer; `params` records where they came from."""
    focus = [float(f) for f in focus]
    return FocalStacks(
        stack=to_uint8(defocus_stack(image, disparity, focus, aperture))[None],
        focus=np.asarray([focus], np.float32),
        depth=np.where(np.isfinite(disparity), disparity, np.nan).astype(np.float32)[None],
        aif=np.asarray(image)[None],
        names=[name],
        dataset=dataset,
        unit="disparity",
        source=source,
        params={"renderer": "defocus", "aperture": aperture, "focus": focus, **params},
    )


def refocused_scene(scene_dir, disparities) -> FocalStacks:
    """`aifdepth refocus`: one HCI-format light-field scene refocused at `disparities`, as a one-sample stack."""
    sample = read_scene(scene_dir)
    synthetic = read_parameters(Path(scene_dir) / "parameters.cfg").get("meta", "synthetic", fallback="false")
    disparities = [float(d) for d in disparities]
    return FocalStacks(
        stack=to_uint8(refocus(sample.views, disparities))[None],
        focus=np.asarray([disparities], np.float32),
        depth=sample.depth[None],
        aif=sample.aif[None],
        names=[sample.name],
        dataset="hci",
        unit="disparity",
        source="synthetic" if synthetic == "true" else "real",
        params={"renderer": "refocus", "disparities": disparities, "scene_dir": str(scene_dir)},
    )
