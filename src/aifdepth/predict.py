"""Depth (and AiF) of a user's own focal stack with a trained model file."""

import logging
from pathlib import Path

import numpy as np
from matplotlib import colormaps

from .align import align_stack
from .datasets.mobiledepth import focal_depths_for
from .devices import pick_device
from .errors import InputError
from .evaluate import predict_sample, predictor
from .io.images import read_rgb, to_uint8, write_rgb
from .io.pfm import write_pfm
from .modelfile import load_model, require_stack_size
from .slices import focus_positions
from .stackfile import MIN_SLICES, TOO_FEW_SLICES, read_stacks, require_focal_stacks

log = logging.getLogger(__name__)


def colour_mapped(depth: np.ndarray, low: float, high: float) -> np.ndarray:
    """Depth as a viridis RGB image over [low, high] (the range goes into the log)."""
    scaled = np.clip((depth - low) / (high - low), 0, 1) if high > low else np.zeros_like(depth)
    return to_uint8(colormaps["viridis"](scaled)[..., :3])


def write_prediction(out_dir: Path, outputs: dict, unit: str, focus_range) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_pfm(out_dir / "depth.pfm", outputs["depth"])
    low, high = float(min(focus_range)), float(max(focus_range))
    write_rgb(out_dir / "depth.png", colour_mapped(outputs["depth"], low, high))
    log.info("%s: depth.png colour bar (viridis) from %.4g (dark) to %.4g (bright) %s", out_dir, low, high, unit)
    if "aif" in outputs:
        write_rgb(out_dir / "aif.png", to_uint8(outputs["aif"]))


def predict_images(model_path, images, focus, out_dir, device=None, focus_file=None, align=None) -> None:
    """Images in stack order with one focus position each, in the model's focus unit: given as
    values, or as a file with one per line in its first column (Mobile Depth's calibrated.txt).
    `align` ("affine" or "homography") first registers the slices to the first one."""
    if focus_file is not None:
        if focus:
            raise InputError("give the focus positions either with --focus or with --focus-file, not both")
        focus = focal_depths_for(focus_file, len(images))
    focus = focus_positions(focus, "--focus")
    if len(images) != len(focus):
        raise InputError(f"{len(images)} images but {len(focus)} focus positions; give one --focus value per image")
    if len(images) < MIN_SLICES:
        raise InputError(TOO_FEW_SLICES)
    first = read_rgb(images[0])
    slices = [first] + [read_rgb(p, expected_shape=first.shape[:2]) for p in images[1:]]
    if align is not None:
        alignment = align_stack(slices, reference=0, motion=align)
        slices = alignment.images
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        alignment.write_record(Path(out_dir) / "transforms.json", images, reference=0, motion=align)
    stack = np.stack(slices)
    device = pick_device(device)
    model, config, info = load_model(model_path, device)
    require_stack_size(config, len(stack), model_path, f"the stack of {images[0]} ...")
    outputs, _, _ = predict_sample(model, stack, focus.astype(np.float32), device)
    write_prediction(Path(out_dir), outputs, info.get("unit", "focus units"), focus)


def predict_stack_file(model_path, stacks_path, out_dir, device=None) -> None:
    """Every sample of a unified stack file; one sub-folder per sample when there are several."""
    stacks = require_focal_stacks(read_stacks(stacks_path), stacks_path)
    device = pick_device(device)
    model, config, info = load_model(model_path, device)
    require_stack_size(config, stacks.focus.shape[1], model_path, stacks_path)
    if info.get("unit") not in (None, stacks.unit):
        log.warning("model trained on %s focus positions, stack file is in %s", info["unit"], stacks.unit)
    predict = predictor(config, stacks.dataset)
    for i, name in enumerate(stacks.names):
        outputs, _, _ = predict(model, stacks.stack[i], stacks.focus[i], device)
        target = Path(out_dir) / name if len(stacks) > 1 else Path(out_dir)
        write_prediction(target, outputs, stacks.unit, stacks.focus[i])
