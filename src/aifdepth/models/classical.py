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
        energy = F.avg_pool2d(F.pad(laplacian.square(), (half, half, half, half), mode="replicate"),
                              self.window, stride=1)
        return energy.view(b, s, *energy.shape[-2:])

    def forward(self, stack: torch.Tensor, focus: torch.Tensor) -> dict:
        measure = self.focus_measure(stack)
        normalised = measure / (measure.amax(dim=1, keepdim=True) + self.eps)
        attention = torch.softmax(normalised / self.temperature, dim=1)
        return {"depth": expected_focus(attention, focus), "aif": fuse_slices(attention, stack),
                "attention": attention}
