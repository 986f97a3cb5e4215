"""Model files: everything needed to rebuild a network (architecture, width, focus unit)
travels with the weights, so `predict` needs no config."""

from pathlib import Path

import torch

from .errors import InputError, rebuild_hint
from .io.atomic import atomic_path
from .models import ModelConfig, build_model
from .models.inference import fold_batchnorm, to_channels_last

FORMAT = "aifdepth-model/1"


def save_model(path, model: torch.nn.Module, config: ModelConfig, info: dict) -> None:
    """`info` holds the focus unit, dataset, training settings: plain JSON-like values."""
    payload = {"format": FORMAT, "config": config.to_dict(), "state_dict": model.state_dict(), "info": info}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model(path, device: str = "cpu") -> tuple[torch.nn.Module, ModelConfig, dict]:
    """Rebuild the network from a model file, ready for inference: eval mode, batch-norm
    folded into the convolutions and channels-last weights (same outputs; 1.6x faster and
    25 % less memory for the paper-size network on the CPU, see benchmarks/bench_inference.py)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found; train it with `snakemake {path}`")
    fix = rebuild_hint(path, "train it again with `aifdepth train`")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty model file (a write that never finished?); {fix}")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception:  # torch raises several types, with advice (weights_only=False) that is never right here
        raise InputError(f"{path}: corrupt or truncated model file, torch cannot unpickle it; {fix}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{path}: not an aifdepth model file (expected format {FORMAT}); {fix}")
    config = ModelConfig.from_dict(payload["config"])
    model = build_model(config)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise InputError(
            f"{path}: its weights do not fit this version's {config.architecture} network (written by "
            f"an older aifdepth?); train it again, e.g. `snakemake --cores 8 --force {path}`"
        ) from err
    return to_channels_last(fold_batchnorm(model.eval()).to(device)), config, payload["info"]


def require_stack_size(config: ModelConfig, slices: int, model_path, source) -> None:
    """A direct-regression model (attention off) reads only the stack size it was trained on."""
    if config.architecture == "aifdepthnet" and not config.attention and slices != config.stack_size:
        raise InputError(
            f"{model_path}: model.stack_size is {config.stack_size}: this model without attention reads stacks of "
            f"{config.stack_size} slices, but {source} has {slices}; give it {config.stack_size} slices, or use a "
            "model with attention, which reads any number"
        )
