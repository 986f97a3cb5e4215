"""DefocusNet baseline (Maximov et al., CVPR 2020, "Focus on Defocus").

A 2D encoder-decoder runs on every slice with shared weights; at every scale the features are
max-pooled over the stack and concatenated back to each slice, so slices exchange information
while the result does not depend on their order. Each slice carries its relative focus position
as a fourth input channel (the original feeds the focus distance): without it an order-invariant
network could not tell which slice is focused where.
"""

import torch
from torch import nn

from .blocks import Layers, focus_from_fraction, pad_to_multiple, with_position_channel
from .classical import FocusMeasure, with_focus_channel

LEVELS = 5  # full resolution .. 1/16
WIDTHS = {"paper": 16, "compact": 8}  # channels at full resolution, doubled per level


def with_stack_max(features: torch.Tensor, stack_size: int) -> torch.Tensor:
    """(B*S, C, H, W) -> (B*S, 2C, H, W): each slice's features and their max over its stack."""
    per_sample = features.unflatten(0, (-1, stack_size))
    pooled = per_sample.amax(dim=1, keepdim=True).expand_as(per_sample)
    return torch.cat([per_sample, pooled], dim=2).flatten(0, 1)


class DefocusNet(nn.Module):
    """forward(stack (B,S,3,H,W) in [0,1], focus (B,S)) -> {"depth", "aif": None, "attention": None}."""

    def __init__(self, width: str = "compact", focus_input: bool = False):
        super().__init__()
        self.focus_measure = FocusMeasure() if focus_input else None
        layers = Layers(2)
        channels = [WIDTHS[width] * 2**level for level in range(LEVELS)]
        self.encoder = nn.ModuleList()
        in_channels = 5 if focus_input else 4
        for level, out_channels in enumerate(channels):
            self.encoder.append(
                nn.Sequential(
                    *([nn.MaxPool2d(2)] if level else []),
                    layers.conv(in_channels, out_channels, kernel=3),
                    layers.conv(out_channels, out_channels, kernel=3),
                )
            )
            in_channels = out_channels
        self.ups = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for deep, shallow in zip(channels[:0:-1], channels[-2::-1]):
            self.ups.append(layers.upsample(2 * deep, shallow))
            self.decoder.append(
                nn.Sequential(layers.conv(3 * shallow, shallow, kernel=3), layers.conv(shallow, shallow, kernel=3))
            )
        self.head = nn.Sequential(
            layers.conv(channels[0], channels[0], kernel=3), nn.Conv2d(channels[0], 1, kernel_size=1)
        )

    def forward(self, stack: torch.Tensor, focus: torch.Tensor) -> dict:
        b, s, _, h, w = stack.shape
        x = with_position_channel(pad_to_multiple(with_focus_channel(stack, self.focus_measure)), focus).flatten(0, 1)
        features = []
        for level in self.encoder:
            x = level(x)
            features.append(x)
        x = features.pop()
        for up, refine in zip(self.ups, self.decoder):
            x = refine(torch.cat([up(with_stack_max(x, s)), with_stack_max(features.pop(), s)], dim=1))
        per_sample = x.unflatten(0, (b, s)).amax(dim=1)
        fraction = torch.sigmoid(self.head(per_sample))[:, 0, :h, :w]
        return {"depth": focus_from_fraction(fraction, focus), "aif": None, "attention": None}
