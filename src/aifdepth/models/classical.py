"""Classical depth from focus: no training, the same interface as the networks.

Focus measure: local energy of the Laplacian of the grey image. Each pixel picks the sharpest
slices with a soft argmax over the stack, which gives depth and an all-in-focus image the same
way the networks' attention does.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import expected_focus, fuse_slices

LUMA = (0.299, 0.587, 0.114)
LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))
LOG_FLOOR = 1e-6  # squared-Laplacian energy below this reads as flat: 8-bit rounding noise alone gives ~3e-5
# The log energy of the synthetic hci stacks spans -11.7 to -3.7 (1st to 99th percentile), median -8.5.
LOG_CENTRE, LOG_SCALE = -7.0, 2.0


class FocusMeasure(nn.Module):
    """forward(stack (B,S,3,H,W) in [0,1], focus (B,S)) -> {"depth", "aif", "attention"}."""

    def __init__(self, window: int = 9, temperature: float = 0.05, eps: float = 1e-6):
        super().__init__()
        self.window = window
        # The measure is divided by its per-pixel max over S, so it lies in [0, 1] with 1 at the
        # sharpest slice; at 0.05 a slice 0.2 below the best gets e^-4 of its weight.
        self.temperature = temperature
        # Below this energy (flat regions) the weights fall back towards uniform.
        self.eps = eps
        self.register_buffer("luma", torch.tensor(LUMA).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("laplacian", torch.tensor(LAPLACIAN).view(1, 1, 3, 3), persistent=False)

    def focus_measure(self, stack: torch.Tensor) -> torch.Tensor:
        """(B, S, 3, H, W) -> (B, S, H, W) mean squared Laplacian over a window."""
        b, s = stack.shape[:2]
        grey = (stack.flatten(0, 1) * self.luma).sum(dim=1, keepdim=True)
        laplacian = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), self.laplacian)
        half = self.window // 2
        energy = F.avg_pool2d(
            F.pad(laplacian.square(), (half, half, half, half), mode="replicate"), self.window, stride=1
        )
        return energy.view(b, s, *energy.shape[-2:])

    def log_measure(self, stack: torch.Tensor) -> torch.Tensor:
        """(B, S, 3, H, W) -> (B, S, H, W): the log of each slice's own measure, about unit range.
        Per slice, so the 2D network still sees each slice on its own. In the model's own
        precision even under autocast: in bfloat16 a Laplacian of 8-bit images loses its low
        grey levels."""
        with torch.autocast(stack.device.type, enabled=False):
            energy = self.focus_measure(stack.to(self.laplacian.dtype))
        return (energy.clamp_min(LOG_FLOOR).log() - LOG_CENTRE) / LOG_SCALE

    def forward(self, stack: torch.Tensor, focus: torch.Tensor) -> dict:
        measure = self.focus_measure(stack)
        normalised = measure / (measure.amax(dim=1, keepdim=True) + self.eps)
        attention = torch.softmax(normalised / self.temperature, dim=1)
        return {"depth": expected_focus(attention, focus), "aif": fuse_slices(attention, stack), "attention": attention}


FOCUS_CHANNEL = 3  # where `with_focus_channel` puts the log measure among each slice's channels


def with_focus_channel(stack: torch.Tensor, measure: FocusMeasure | None) -> torch.Tensor:
    """The networks' input: the RGB slices (B, S, 3, H, W), and with a focus measure a fourth
    channel (FOCUS_CHANNEL), its log measure, in the stack's dtype; unchanged without one."""
    if measure is None:
        return stack
    return torch.cat([stack, measure.log_measure(stack).to(stack.dtype)[:, :, None]], dim=2)
