"""Every knob of a variant, declared once: the `model`, `train` and `loss` sections of the
config schema, the `aifdepth train` options and their defaults are all derived from the
fields below. Adding a knob is adding a field (and reading it where it acts).

No torch here: the workflow imports this module when it parses the config."""

import json
import types
import typing
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import InputError


def knob(default, help: str, *, choices: tuple | None = None, minimum: float | None = None, above: float | None = None):
    """A field the config, the schema and the CLI know: `choices` or bounds (`minimum`
    inclusive, `above` exclusive) say which values are allowed."""
    return field(default=default, metadata={"choices": choices, "minimum": minimum, "above": above, "help": help})


def knob_kind(f) -> tuple[type, bool]:
    """(element type, is a list) of a knob: int, float, str, bool, int | None or tuple[int, ...] | None."""
    annotation = f.type
    if isinstance(annotation, types.UnionType):  # X | None
        (annotation,) = (a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is tuple:
        return typing.get_args(annotation)[0], True
    return annotation, False


def knobs(section) -> list:
    return [f for f in fields(section) if "help" in f.metadata]


class Section:
    """A config section as a dataclass: checked on construction, built from a dict with
    unknown keys named."""

    section_name = ""

    def __post_init__(self):
        for f in knobs(self):
            value = getattr(self, f.name)
            element, is_list = knob_kind(f)
            if is_list and value is not None:
                value = tuple(value)
                object.__setattr__(self, f.name, value)  # frozen: lists from JSON become tuples once
            if value is None and f.default is None:  # an optional knob left unset
                continue
            for item in value if is_list else (value,):
                self._check(f, element, item)

    def _check(self, f, element: type, value) -> None:
        where = f"{self.section_name}.{f.name}"
        if element is bool and not isinstance(value, bool):
            raise InputError(f"{where} must be true or false, got {value!r}")
        if element is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(f"{where} must be a whole number, got {value!r}")
        if element is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InputError(f"{where} must be a number, got {value!r}")
        choices, minimum, above = f.metadata["choices"], f.metadata["minimum"], f.metadata["above"]
        if choices is not None and value not in choices:
            raise InputError(f"{where} must be one of {', '.join(map(str, choices))}, got {value!r}")
        if minimum is not None and value < minimum:
            raise InputError(f"{where} must be at least {minimum}, got {value!r}")
        if above is not None and value <= above:
            raise InputError(f"{where} must be above {above}, got {value!r}")

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in knobs(self)}

    @classmethod
    def from_dict(cls, values: dict, where: str = ""):
        known = {f.name for f in knobs(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(
                f"{where or cls.section_name}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        try:
            return cls(**values)
        except InputError as err:
            raise InputError(f"{where}: {err}" if where else str(err)) from None


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


ARCHITECTURES = ("aifdepthnet", "defocusnet", "classical")
# Evaluation: timings per image of a stack file whose runtime a table shows; their median counts.
TIMING_REPEATS = 3


@dataclass(frozen=True)
class ModelConfig(Section):
    """Which model to build; conv, attention, attention_mode and depth_normalisation only
    matter for aifdepthnet, the middle two only with attention and stack_size only without;
    focus_input for both networks."""

    section_name = "model"

    architecture: str = knob(
        "aifdepthnet", "aifdepthnet (ours), defocusnet (baseline) or classical (focus measure)", choices=ARCHITECTURES
    )
    conv: str = knob("3d", "aifdepthnet: 3D convolutions over the stack or 2D per slice", choices=("3d", "2d"))
    width: str = knob(
        "compact",
        "paper: the published channel counts; compact: the same design, fewer channels, for CPUs",
        choices=("compact", "paper"),
    )
    attention: bool = knob(True, "aifdepthnet: depth as attention over the focus positions (False: regressed)")
    attention_mode: str = knob(
        "shared", "separate: depth and AiF attentions from two score heads", choices=("shared", "separate")
    )
    depth_normalisation: str = knob(
        "softmax",
        "softplus: softplus(x) / sum over slices for the depth attention; the AiF is always softmax",
        choices=("softmax", "softplus"),
    )
    focus_input: bool = knob(
        False, "the log of the classical focus measure as one more input channel (a departure from the paper)"
    )
    position_input: bool = knob(
        False,
        "aifdepthnet: each slice's relative focus position as one more input channel, as the official code's "
        "4-channel input (DefocusNet always has it)",
    )
    stack_size: int | None = knob(
        None,
        "aifdepthnet without attention: the slices its regression head reads, as the paper's head, a conv over a "
        "fixed stack; empty: the training stack's",
        minimum=2,
    )
    arithmetic: str = knob(
        "ours",
        "aifdepthnet: official: the official code's arithmetic (zero padding, biases, its last layers and heads, "
        "the slice-index channel, the stack in the order given), so the authors' checkpoints load "
        "(`aifdepth import-official`); 3D only, without focus_input",
        choices=("ours", "official"),
    )

    @property
    def learns(self) -> bool:
        """False for the classical baseline: its model file holds no weights, nothing to train."""
        return self.architecture != "classical"

    def __post_init__(self):
        super().__post_init__()
        if self.arithmetic == "official" and (self.conv != "3d" or self.focus_input):
            raise InputError(
                "model.arithmetic: the official network has 3D convolutions and reads no focus channel; "
                "set model.conv: 3d and model.focus_input: false"
            )


@dataclass(frozen=True)
class LossWeights(Section):
    """Weights of the loss terms: a variant names the terms it trains with, the others are 0."""

    section_name = "loss"

    supervised: float = knob(0.0, "weight of the L1 depth loss (needs GT depth)", minimum=0)
    unsupervised: float = knob(0.0, "weight of the L1 all-in-focus loss (needs GT AiF images)", minimum=0)
    smoothness: float = knob(0.0, "weight of the edge-aware depth smoothness", minimum=0)


@dataclass(frozen=True)
class TrainSettings(Section):
    """How one variant trains: Adam on random crops of the training stacks."""

    section_name = "train"

    regime: str = knob(
        "fixed",
        "which slices a batch sees: all (fixed), a random sorted subset of min_slices..all (arbitrary), or indices",
        choices=("fixed", "arbitrary", "indices"),
    )
    min_slices: int = knob(2, "smallest stack of the arbitrary regime", minimum=2)
    indices: tuple[int, ...] | None = knob(None, "1-based slices of the indices regime, e.g. [1, 5, 9]", minimum=1)
    steps: int = knob(300, "optimiser steps", minimum=1)
    batch_size: int = knob(4, "stacks per batch", minimum=1)
    crop: int = knob(64, "side of the random square crops, in pixels", minimum=32)
    learning_rate: float = knob(1e-3, "peak learning rate of Adam", above=0)
    schedule: str = knob(
        "cosine", "learning rate over the steps: cosine decay to zero, or constant", choices=("cosine", "constant")
    )
    warmup_steps: int = knob(0, "linear learning-rate warm-up before the schedule", minimum=0)
    precision: str = knob(
        "fp32", "bf16: bfloat16 autocast where the hardware has it natively (else fp32)", choices=("fp32", "bf16")
    )
    compile: bool = knob(
        False,
        "torch.compile the network (Inductor; needs a C++ compiler on the CPU, else eager with a log line): "
        "minutes of compilation per process, so it pays only in long trainings",
    )
    seed: int = knob(0, "seed of the weights and of the batches", minimum=0)
    checkpoint_every: int = knob(50, "steps between checkpoints to resume from", minimum=1)
    batch_norm_batches: int = knob(
        25, "training batches whose plain average replaces the batch-norm running statistics", minimum=0
    )
    loss: LossWeights = field(default_factory=LossWeights)

    def __post_init__(self):
        super().__post_init__()
        if self.regime == "indices" and not self.indices:
            raise InputError("train.regime indices needs train.indices, a list of 1-based slice indices")


SECTIONS = {"model": ModelConfig, "train": TrainSettings, "loss": LossWeights}


@dataclass(frozen=True)
class VariantSettings:
    """A variant's merged settings, as the workflow hands them to `aifdepth train` (one JSON)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainSettings = field(default_factory=TrainSettings)

    def __post_init__(self):
        loss = self.training.loss
        if self.model.learns and not (loss.supervised or loss.unsupervised):
            raise InputError(
                f"training {self.model.architecture} needs a loss: set loss.supervised or loss.unsupervised above 0"
            )
        direct = self.model.architecture == "aifdepthnet" and not self.model.attention
        if direct and self.training.regime == "arbitrary":
            raise InputError(
                "train.regime arbitrary varies the stack size, but a model without attention reads a fixed number "
                "of slices (model.stack_size); train it with regime fixed or indices, or with attention"
            )

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "train": self.training.to_dict(), "loss": self.training.loss.to_dict()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, values: dict, where: str = "settings") -> "VariantSettings":
        unknown = sorted(set(values) - set(SECTIONS))
        if unknown:
            raise InputError(f"{where}: unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
        parts = {name: section.from_dict(values.get(name, {}), f"{where}.{name}") for name, section in SECTIONS.items()}
        try:
            return cls(parts["model"], replace(parts["train"], loss=parts["loss"]))
        except InputError as err:
            raise InputError(f"{where}: {err}") from None


def knob_schema(section) -> dict:
    """JSON-schema properties of a section's knobs, for the config schema."""
    properties = {}
    for f in knobs(section):
        element, is_list = knob_kind(f)
        item: dict[str, Any] = {
            bool: {"type": "boolean"},
            int: {"type": "integer"},
            float: {"type": "number"},
            str: {"type": "string"},
        }[element]
        if f.metadata["choices"] is not None:
            item = {"enum": list(f.metadata["choices"])}
        if f.metadata["minimum"] is not None:
            item["minimum"] = f.metadata["minimum"]
        if f.metadata["above"] is not None:
            item["exclusiveMinimum"] = f.metadata["above"]
        schema = {"type": "array", "items": item, "minItems": 1} if is_list else item
        properties[f.name] = {**schema, "description": f"{f.metadata['help']} (default: {f.default})"}
    return properties
