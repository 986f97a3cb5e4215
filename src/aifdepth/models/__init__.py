"""The depth-from-focus models behind one interface.

Every model's forward(stack, focus) takes a (B, S, 3, H, W) stack in [0, 1] and the (B, S)
focus positions in the dataset's unit, and returns {"depth": (B, H, W) in that unit,
"aif": (B, 3, H, W) or None, "attention": (B, S, H, W) or None}.
"""

from torch import nn

from ..settings import ModelConfig
from .aifdepthnet import AiFDepthNet
from .classical import FocusMeasure
from .defocusnet import DefocusNet

__all__ = ["ModelConfig", "build_model", "count_parameters"]


def build_model(config: ModelConfig) -> nn.Module:
    if config.architecture == "aifdepthnet":
        return AiFDepthNet(
            conv=config.conv,
            width=config.width,
            attention=config.attention,
            attention_mode=config.attention_mode,
            depth_normalisation=config.depth_normalisation,
            focus_input=config.focus_input,
            position_input=config.position_input,
            stack_size=config.stack_size,
            official=config.arithmetic == "official",
        )
    if config.architecture == "defocusnet":
        return DefocusNet(width=config.width, focus_input=config.focus_input)
    return FocusMeasure()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
