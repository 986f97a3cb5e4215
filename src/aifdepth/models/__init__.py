"""The depth-from-focus models behind one interface.

Every model's forward(stack, focus) takes a (B, S, 3, H, W) stack in [0, 1] and the (B, S)
focus positions in the dataset's unit, and returns {"depth": (B, H, W) in that unit,
"aif": (B, 3, H, W) or None, "attention": (B, S, H, W) or None}.
"""

from dataclasses import asdict, dataclass, fields

from torch import nn

from .aifdepthnet import AiFDepthNet
from .classical import FocusMeasure
from .defocusnet import DefocusNet

CHOICES = {
    "architecture": ("aifdepthnet", "defocusnet", "classical"),
    "conv": ("3d", "2d"),
    "width": ("paper", "compact"),
    "attention_mode": ("shared", "separate"),
    "depth_normalisation": ("softmax", "softplus"),
}


@dataclass
class ModelConfig:
    """Which model to build; conv, attention, attention_mode and depth_normalisation only
    matter for aifdepthnet, and the last two only with attention; focus_input for both networks."""

    architecture: str = "aifdepthnet"
    conv: str = "3d"
    width: str = "compact"  # "paper": published channel counts; "compact": the same design, fewer channels, for CPUs
    attention: bool = True  # False: regress depth directly, no all-in-focus image
    attention_mode: str = "shared"  # "separate": depth and AiF attentions from two score heads
    depth_normalisation: str = "softmax"  # "softplus": softplus(x) / sum_s softplus(x); AiF is always softmax
    focus_input: bool = False  # True: the log of the classical focus measure as one more input channel per slice

    def __post_init__(self):
        for key, allowed in CHOICES.items():
            value = getattr(self, key)
            if value not in allowed:
                raise ValueError(f"model config: {key} must be one of {', '.join(allowed)}, got {value!r}")
        for key in ("attention", "focus_input"):
            if not isinstance(getattr(self, key), bool):
                raise ValueError(f"model config: {key} must be true or false, got {getattr(self, key)!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"model config: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)


def build_model(config: ModelConfig) -> nn.Module:
    if config.architecture == "aifdepthnet":
        return AiFDepthNet(
            conv=config.conv,
            width=config.width,
            attention=config.attention,
            attention_mode=config.attention_mode,
            depth_normalisation=config.depth_normalisation,
            focus_input=config.focus_input,
        )
    if config.architecture == "defocusnet":
        return DefocusNet(width=config.width, focus_input=config.focus_input)
    return FocusMeasure()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
