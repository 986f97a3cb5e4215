"""Evaluation of a model file on a stack file: the paper's metrics per image, then
averaged; runtime per stack at batch 1; AiF quality where GT AiF exists."""

import contextlib
import json
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from .batches import to_tensors
from .devices import device_name, pick_device, synchronise
from .errors import InputError
from .io.atomic import atomic_path
from .io.hdf5 import new_hdf5
from .io.images import to_uint8
from .metrics import aggregate, image_metrics, psnr, ssim, valid_mask
from .modelfile import load_model, require_stack_size
from .official import MobileDepthProtocol
from .settings import TIMING_REPEATS
from .stackfile import read_stacks, require_focal_stacks


def predict_sample(model, stack, focus, device: str) -> tuple[dict, float, float]:
    """Run one stack (S,H,W,3) uint8; returns outputs as numpy and the synchronised and
    unsynchronised (as the official code measured) seconds."""
    batch = to_tensors(stack[None], focus[None])
    inputs, positions = batch["stack"].to(device), batch["focus"].to(device)
    synchronise(device)
    with torch.inference_mode():
        start = time.perf_counter()
        outputs = model(inputs, positions)
        unsynchronised = time.perf_counter() - start
        synchronise(device)
        seconds = time.perf_counter() - start
    result = {"depth": outputs["depth"][0].float().cpu().numpy()}
    if outputs.get("aif") is not None:
        result["aif"] = outputs["aif"][0].permute(1, 2, 0).float().cpu().numpy()
    return result, seconds, unsynchronised


def predictor(config, dataset: str):
    """How a model sees the samples of a stack file: as they are, or, for the authors' network
    on Mobile Depth, as the official test code feeds them (`MobileDepthProtocol`)."""
    return (
        predict_official_mobile_depth
        if config.arithmetic == "official" and dataset == "mobiledepth"
        else predict_sample
    )


def predict_official_mobile_depth(model, stack, focus, device: str) -> tuple[dict, float, float]:
    """`predict_sample` through the official Mobile Depth protocol; depth in focal depths."""
    protocol = MobileDepthProtocol(focus)
    outputs, seconds, unsynchronised = predict_sample(model, stack[protocol.indices], protocol.positions, device)
    outputs["depth"] = protocol.to_focus(outputs["depth"])
    return outputs, seconds, unsynchronised


def evaluate(
    model_path,
    stacks_path,
    out_json,
    predictions_path=None,
    device: str | None = None,
    metric_dataset: str | None = None,
) -> dict:
    """Write the evaluation JSON (and predictions for figures); returns the JSON dict."""
    return evaluate_all(model_path, [stacks_path], [out_json], [predictions_path], device, metric_dataset)[0]


def evaluate_all(
    model_path,
    stacks_paths,
    out_jsons,
    predictions_paths=None,
    device: str | None = None,
    metric_dataset=None,
    timed=(),
    repeats: int = TIMING_REPEATS,
    compute_lock=contextlib.nullcontext,
    timing_lock=contextlib.nullcontext,
) -> list[dict]:
    """`evaluate` on several stack files with the model loaded once (a process per model, not per file).

    Stack files in `timed` (the runtimes a table or claim shows) are timed again, `repeats` times
    per image after a warm-up, inside `timing_lock()`, which the CLI makes hold the whole machine;
    everything else computes inside `compute_lock()`."""
    predictions_paths = predictions_paths or [None] * len(stacks_paths)
    if not len(stacks_paths) == len(out_jsons) == len(predictions_paths):
        raise InputError(
            f"evaluate: {len(stacks_paths)} stack files, {len(out_jsons)} outputs and {len(predictions_paths)} "
            "prediction files; give one output (and one prediction file) per stack file"
        )
    if repeats < 1:
        raise InputError(f"evaluate: --timing-repeats must be at least 1, got {repeats}")
    timed = {Path(p) for p in timed}
    unknown = timed - {Path(p) for p in stacks_paths}
    if unknown:
        raise InputError(f"evaluate: --timed names {sorted(map(str, unknown))}, which are not among --stacks")
    device = pick_device(device)
    model, config, info = load_model(model_path, device)
    results = []
    for stacks_path, out_json, predictions_path in zip(stacks_paths, out_jsons, predictions_paths):
        with compute_lock():
            result, stacks = _evaluate_loaded(
                model, config, info, model_path, stacks_path, predictions_path, device, metric_dataset
            )
        if Path(stacks_path) in timed:
            with timing_lock():
                _time_alone(result, predictor(config, stacks.dataset), model, stacks, device, repeats)
        out_json = Path(out_json)
        with atomic_path(out_json) as tmp:
            tmp.write_text(json.dumps(result, indent=1, default=_json_default))
        results.append(result)
    return results


def _time_alone(result: dict, predict, model, stacks, device: str, repeats: int) -> None:
    """Replace the seconds taken beside the metrics by the median of `repeats` timings per image,
    taken after a warm-up with nothing else computing: runtimes measured while other jobs share
    the cores had made the same network 0.57-1.56 s per stack across one table's rows."""
    predict(model, stacks.stack[0], stacks.focus[0], device)  # warm-up, not timed
    repeated, unsynchronised = [], []
    for i in range(len(stacks.names)):
        runs = [predict(model, stacks.stack[i], stacks.focus[i], device)[1:] for _ in range(repeats)]
        repeated.append([seconds for seconds, _ in runs])
        unsynchronised.append(float(np.median([unsync for _, unsync in runs])))
    medians = [float(np.median(times)) for times in repeated]
    for row, median, times in zip(result["per_image"], medians, repeated):
        row["seconds"] = median
        row["seconds_repeats"] = times
    spreads = [(max(times) - min(times)) / median for times, median in zip(repeated, medians)]
    result["runtime"].update(
        seconds_per_stack=float(np.mean(medians)),
        repeats=repeats,
        repeat_spread=float(np.median(spreads)),
        machine_to_itself=True,
    )
    result["paper_compatible"]["seconds_unsynchronised"] = float(np.mean(unsynchronised))


def _evaluate_loaded(model, config, info, model_path, stacks_path, predictions_path, device, metric_dataset):
    """The evaluation JSON's dict (seconds from one pass beside the metrics) and the stacks; writes
    the predictions."""
    stacks = require_focal_stacks(read_stacks(stacks_path), stacks_path)
    require_stack_size(config, stacks.focus.shape[1], model_path, stacks_path)
    dataset = metric_dataset or stacks.dataset
    predict = predictor(config, stacks.dataset)
    predict(model, stacks.stack[0], stacks.focus[0], device)  # warm-up, not timed
    per_image, aif_scores, depths, aifs = [], [], [], []
    seconds, unsynchronised = [], []
    for i in range(len(stacks.names)):
        outputs, elapsed, elapsed_unsync = predict(model, stacks.stack[i], stacks.focus[i], device)
        seconds.append(elapsed)
        unsynchronised.append(elapsed_unsync)
        mask = valid_mask(stacks.depth[i], dataset)
        per_image.append(image_metrics(outputs["depth"], stacks.depth[i], mask))
        depths.append(outputs["depth"])
        if "aif" in outputs:
            aifs.append(to_uint8(outputs["aif"]))
            if stacks.aif is not None:
                aif_scores.append({"psnr": psnr(aifs[-1], stacks.aif[i]), "ssim": ssim(aifs[-1], stacks.aif[i])})
    metrics = aggregate(per_image)
    # Per image, every number a claim compares: depth metrics, AiF quality, seconds (paired by name).
    per_image = [
        {"name": name, **row, "seconds": elapsed, **(aif_scores[i] if aif_scores else {})}
        for i, (name, row, elapsed) in enumerate(zip(stacks.names, per_image, seconds))
    ]
    result = {
        "model": str(model_path),
        "stacks": str(stacks_path),
        "dataset": stacks.dataset,
        "source": stacks.source,
        "unit": stacks.unit,
        "mask": dataset,
        "model_config": config.to_dict(),
        "metrics": metrics,
        "aif": (
            {
                "psnr": float(np.mean([s["psnr"] for s in aif_scores])),
                "ssim": float(np.mean([s["ssim"] for s in aif_scores])),
            }
            if aif_scores
            else None
        ),
        "runtime": {
            "seconds_per_stack": float(np.mean(seconds)),
            "device": device_name(device),
            "batch": 1,
            "resolution": list(stacks.stack.shape[2:4]),
            "slices": int(stacks.stack.shape[1]),
            "warm_up_excluded": True,
            "synchronised": device.startswith("cuda"),
            "repeats": 1,
            "machine_to_itself": False,
        },
        "paper_compatible": {
            "abs_rel_sum": metrics.get("abs_rel_paper_sum"),
            "sqr_rel_sum": metrics.get("sqr_rel_paper_sum"),
            "bumpiness": metrics.get("bumpiness_skimage016"),
            "seconds_unsynchronised": float(np.mean(unsynchronised)),
        },
        "per_image": per_image,
        "trained_on": info.get("train_stacks"),
    }
    if predictions_path is not None:
        with new_hdf5(predictions_path) as f:
            f.create_dataset("depth", data=np.stack(depths).astype(np.float32), compression="gzip")
            if aifs:
                f.create_dataset("aif", data=np.stack(aifs), compression="gzip")
            f.create_dataset("name", data=np.array(stacks.names, dtype=object), dtype=h5py.string_dtype())
    return result, stacks


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value)}")
