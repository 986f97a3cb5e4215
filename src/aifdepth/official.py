"""The authors' released checkpoints as aifdepth model files: their `.pth` files read without
running pickled code, every weight mapped onto our network built with the official arithmetic
(`model.arithmetic: official`), and written as an ordinary model file that `evaluate`, `predict` and the
workflow use unchanged.

What an official checkpoint holds, as the official test code reads it: a dict with `args_dict`
(the run's options), `args_model` (`model_setting.model`, the class's import path, and
`model_kwargs`, its constructor arguments) and `state_dict`, saved through `nn.DataParallel`, so
every key starts with `module.`."""

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .datasets.spec import DRIVE, OFFICIAL_PAGE
from .download import RemoteFile, fetch
from .errors import InputError
from .modelfile import save_model
from .models import ModelConfig, build_model

# The authors' ckpt.zip, linked from the official README (Google Drive): every released checkpoint.
ARCHIVE = RemoteFile(url=f"{DRIVE}1Lk4tJ7AKRJPGIfAjhxVMXoEFZBplmkHp", name="ckpt.zip", page=OFFICIAL_PAGE)

OFFICIAL_CLASS = "AiFDepthNet"
PARALLEL_PREFIX = "module."
# The official constructor's defaults, for arguments a checkpoint leaves out.
OFFICIAL_DEFAULTS = {
    "n_channels": 3,
    "n_classes": 1,
    "n_stack": 10,
    "focal_length": 521.4052,
    "baseline": 0.00027087,
    "depth_min": 0.1,
    "depth_max": 3.0,
    "normalize_attention": False,
    "disp_depth": "depth",
    "stage2": "attention",
}
UNITS = {"disp": "disparity", "depth": "metres"}
BATCH_NORM_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
MIXED_BRANCHES = (
    ("branch0", "pointwise", None),
    ("branch1_0", "wide", 0),
    ("branch1_1", "wide", 1),
    ("branch2_0", "narrow", 0),
    ("branch2_1", "narrow", 1),
    ("branch3_1", "pool", 1),
)
MIXED_NAMES = (("3b", "3c"), ("4b", "4c", "4d", "4e", "4f"), ("5b", "5c"))
# Decoder, deepest first: the official transposed-conv block and the encoder-skip projection.
DECODER_NAMES = (("up_5c", "up_4f"), ("up_5c4f", "up_3c"), ("up_5c4f3c", "up_2c"), ("up_5c4f3c2c", "up_1a"))
# Slices of a Mobile Depth sweep the official test run keeps (every max(S // 10, 1)-th).
MOBILE_DEPTH_SLICES = 10


class MobileDepthProtocol:
    """How the official test code feeds a Mobile Depth sweep: the frames sorted by focal depth
    (nearest first), every max(S // 10, 1)-th of them kept, and as focus positions not the focal
    depths but each kept frame's rank in that order over S, (k + 1) / S. `to_focus` maps the depth
    it predicts, in those rank units, back to focal depths by the sorted sweep, so that metrics,
    figures and the other models' results share one unit."""

    def __init__(self, focus: np.ndarray, slices: int = MOBILE_DEPTH_SLICES):
        order = np.argsort(focus, kind="stable")
        count = len(focus)
        step = max(count // slices, 1)
        self.indices = order[::step]
        self.positions = (np.arange(1, count + 1, dtype=np.float32) / count)[::step]
        self._ranks = np.arange(1, count + 1) / count
        self._sorted_focus = np.asarray(focus, np.float64)[order]

    def to_focus(self, depth: np.ndarray) -> np.ndarray:
        return np.interp(depth, self._ranks, self._sorted_focus).astype(np.float32)


def fold_bias(bias: torch.Tensor, running_mean: torch.Tensor) -> torch.Tensor:
    """The running mean of a batch norm that, without the preceding convolution's bias, gives the
    same output: BN(y + b) normalises y + b - mean, that is y - (mean - b). Exact in evaluation,
    and in training the batch mean takes the bias out anyway."""
    return running_mean - bias


def download_archive(out, checksums, mirror: str | None = None) -> Path:
    """The authors' ckpt.zip (resumable, its SHA-256 recorded on first use), from `mirror`/ckpt.zip
    when given."""
    remote = ARCHIVE.at_mirror(mirror) if mirror else ARCHIVE
    hint = f"Or download {ARCHIVE.name} from {OFFICIAL_PAGE} yourself, unpack it and set checkpoints.source: manual"
    return fetch(remote, Path(out), checksums=Path(checksums), key=f"checkpoints/{ARCHIVE.name}", offline_hint=hint)


def _checkpoint_bytes(path: Path, member: str | None):
    """The file itself, or one member of a zip archive (the authors' ckpt.zip) read into memory."""
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found; download the authors' {ARCHIVE.name} ({OFFICIAL_PAGE})")
    if member is None:
        return path
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if member not in names:
                found = [name for name in names if name.endswith((".pth", ".pt", ".tar"))]
                raise InputError(f"{path}: no {member!r} inside; its checkpoints: {found}")
            return io.BytesIO(archive.read(member))
    except zipfile.BadZipFile as err:
        raise InputError(f"{path}: not a readable zip archive ({err}); delete it and run again") from None


def checkpoint_name(path, member: str | None) -> str:
    """How messages name a checkpoint: its file, or `archive:member`."""
    return f"{path}:{member}" if member else str(path)


def read_checkpoint(path, member: str | None = None) -> dict:
    """The checkpoint's dict, loaded with `weights_only`: plain containers, numbers, strings and
    tensors. One that needs any other type fails here, naming it, and nothing of it runs."""
    path = Path(path)
    source = _checkpoint_bytes(path, member)
    where = checkpoint_name(path, member)
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a truncated or foreign file
        needed = sorted(set(re.findall(r"GLOBAL ([\w.]+)", str(err))))
        if needed:
            raise InputError(
                f"{where}: this checkpoint needs more than plain types to load ({', '.join(needed)}); aifdepth "
                "loads checkpoints without running pickled code and will not execute it: save its args_dict, "
                "args_model and state_dict again as plain values and tensors"
            ) from None
        raise InputError(
            f"{where}: corrupt or truncated checkpoint, torch cannot read it ({type(err).__name__}); download it again"
        ) from None
    if not isinstance(payload, dict):
        raise InputError(f"{where}: not an official AiFDepthNet checkpoint (a {type(payload).__name__}, not a dict)")
    for key in ("args_model", "state_dict"):
        if key not in payload:
            raise InputError(f"{where}: not an official AiFDepthNet checkpoint: it has no '{key}'")
    return payload


def official_kwargs(path, args_model) -> dict:
    """The official constructor's arguments, defaults filled in, checked to be what we can build."""
    model_name = str((args_model.get("model_setting") or {}).get("model", "")) if isinstance(args_model, dict) else ""
    if model_name.rsplit(".", 1)[-1] != OFFICIAL_CLASS:
        raise InputError(
            f"{path}: args_model.model_setting.model is {model_name or 'missing'!r}, not the official "
            f"{OFFICIAL_CLASS}: a checkpoint of another network cannot be imported"
        )
    kwargs = {**OFFICIAL_DEFAULTS, **(args_model.get("model_kwargs") or {})}
    checks = {
        "n_channels": (3, 4),
        "n_classes": (1, 2),
        "disp_depth": tuple(UNITS),
        "stage2": ("attention", "direct"),
    }
    kwargs["stage2"] = str(kwargs["stage2"]).lower()  # the official code upper-cases it
    for key, allowed in checks.items():
        if kwargs[key] not in allowed:
            raise InputError(
                f"{path}: args_model.model_kwargs.{key} is {kwargs[key]!r}; the official network knows {list(allowed)}"
            )
    if not isinstance(kwargs["n_stack"], int) or kwargs["n_stack"] < 2:
        raise InputError(f"{path}: args_model.model_kwargs.n_stack is {kwargs['n_stack']!r}, not a stack size")
    return kwargs


def model_config(kwargs: dict) -> ModelConfig:
    attention = kwargs["stage2"] == "attention"
    return ModelConfig(
        architecture="aifdepthnet",
        conv="3d",
        width="paper",
        attention=attention,
        attention_mode="separate" if kwargs["n_classes"] == 2 else "shared",
        depth_normalisation="softplus" if kwargs["normalize_attention"] else "softmax",
        focus_input=False,
        position_input=kwargs["n_channels"] == 4,
        stack_size=None if attention else kwargs["n_stack"],
        arithmetic="official",
    )


def trained_focus(kwargs: dict) -> list[float]:
    """The focus positions the official code assumes when the data gives none: n_stack evenly
    spaced in depth, or in disparity (baseline x focal length / depth) for `disp`."""
    low, high = kwargs["depth_min"], kwargs["depth_max"]
    if kwargs["disp_depth"] == "disp":
        low, high = (kwargs["baseline"] * kwargs["focal_length"] / depth for depth in (low, high))
    return [float(v) for v in np.linspace(low, high, kwargs["n_stack"])]


def _module_pairs(model: nn.Module):
    """(official key prefix, our module) for every layer with weights. A Sequential of ours is a
    convolution and its batch norm at .0 and .1, as the official prefix's; others are one layer."""
    encoder, decoder = model.encoder, model.decoder
    yield "conv3d_1a.conv3d", encoder.stage1
    yield "conv3d_2b.conv3d", encoder.stage2[1]
    yield "conv3d_2c.conv3d", encoder.stage2[2]
    for stage, names in zip((encoder.stage3, encoder.stage4, encoder.stage5), MIXED_NAMES):
        for name, block in zip(names, stage[1]):
            for branch, part, index in MIXED_BRANCHES:
                ours = getattr(block, part)
                yield f"Mixed_{name}.{branch}.conv3d", ours if index is None else ours[index]
    for (up_name, skip_name), up, skip in zip(DECODER_NAMES, decoder.ups, decoder.skips):
        yield f"{up_name}.trans3d", up[0]
        yield f"{up_name}.trans3d.3.conv3d", up[1]
        yield f"{skip_name}.conv3d", skip
    yield "final_up", decoder.final_up
    yield "out", decoder.scores
    if not model.attention:
        yield "d_out", model.regression.depth
        yield "AiF_out.0", model.regression.aif[0]


def _targets(model: nn.Module) -> dict[str, tuple[torch.Tensor, str]]:
    """Official key -> (our tensor, how it is set: copy, or fold for a bias going into a running mean)."""
    targets = {}
    for prefix, ours in _module_pairs(model):
        if isinstance(ours, nn.Sequential):
            conv, norm = ours[0], ours[1]
            targets[f"{prefix}.0.weight"] = (conv.weight, "copy")
            targets[f"{prefix}.0.bias"] = (norm.running_mean, "fold")
            for key in BATCH_NORM_KEYS:
                targets[f"{prefix}.1.{key}"] = (getattr(norm, key), "copy")
        else:
            targets[f"{prefix}.weight"] = (ours.weight, "copy")
            targets[f"{prefix}.bias"] = (ours.bias, "copy")
    return targets


@torch.no_grad()
def load_official_weights(path, model: nn.Module, state_dict) -> None:
    """Every official key into our network: none left over, none missing, every shape equal. Batch
    norms take their running means before the biases folded into them."""
    if not isinstance(state_dict, dict):
        raise InputError(f"{path}: state_dict is a {type(state_dict).__name__}, not a dict of tensors")
    state = {key.removeprefix(PARALLEL_PREFIX): value for key, value in state_dict.items()}
    targets = _targets(model)
    unknown = sorted(set(state) - set(targets))
    if unknown:
        raise InputError(
            f"{path}: state_dict key {unknown[0]!r} (and {len(unknown) - 1} more) is not in the official "
            "AiFDepthNet: a checkpoint of another network"
        )
    # Batch norms count their updates only since PyTorch 0.4.1; evaluation never reads the count.
    missing = [key for key in targets if key not in state and not key.endswith("num_batches_tracked")]
    if missing:
        raise InputError(
            f"{path}: state_dict has no {missing[0]!r} (and {len(missing) - 1} more keys are missing): "
            "an incomplete checkpoint or another network"
        )
    for key, (ours, how) in sorted(targets.items(), key=lambda item: item[1][1] == "fold"):
        if key not in state:
            continue
        value = state[key]
        if not isinstance(value, torch.Tensor) or value.shape != ours.shape:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise InputError(
                f"{path}: state_dict[{key!r}] has shape {shape}, the official network's is {tuple(ours.shape)}: "
                "a checkpoint of another network or width"
            )
        ours.copy_(fold_bias(value, ours) if how == "fold" else value)


def import_official(checkpoint, out, member: str | None = None) -> dict:
    """Write `out`, an aifdepth model file with the weights of `checkpoint` (or of its `member`, a
    file inside the zip archive `checkpoint`); returns what was recognised (also in the model
    file's info under `official`)."""
    payload = read_checkpoint(checkpoint, member)
    where = checkpoint_name(checkpoint, member)
    kwargs = official_kwargs(where, payload["args_model"])
    config = model_config(kwargs)
    model = build_model(config)
    load_official_weights(where, model, payload["state_dict"])
    recognised = {
        "checkpoint": where,
        "stage": "attention" if config.attention else "direct",
        "attention": config.attention_mode,
        "normalisation": config.depth_normalisation,
        "stack_size": kwargs["n_stack"],
        "slice_index_input": config.position_input,
        "unit": UNITS[kwargs["disp_depth"]],
        "trained_focus": trained_focus(kwargs),
    }
    save_model(out, model.eval(), config, {"unit": recognised["unit"], "official": recognised})
    return recognised


def describe(recognised: dict) -> str:
    focus = ", ".join(f"{v:.4g}" for v in recognised["trained_focus"])
    stage = "attention" if recognised["stage"] == "attention" else "direct regression"
    heads = "one shared depth/AiF attention" if recognised["attention"] == "shared" else "separate depth and AiF heads"
    return (
        f"{recognised['checkpoint']}: official AiFDepthNet, {stage} with {heads}, "
        f"{recognised['normalisation']} normalisation, {recognised['stack_size']} slices"
        f"{' with the slice-index channel' if recognised['slice_index_input'] else ''}; "
        f"focus unit {recognised['unit']}, trained for focus positions [{focus}]"
    )
