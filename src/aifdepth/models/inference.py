"""Inference-time rewrites that keep the outputs: batch-norm folded into the preceding
convolution, and an optional channels-last memory layout."""

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

_CONVOLUTIONS = (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_NORMS = (nn.BatchNorm2d, nn.BatchNorm3d)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of an eval-mode model where every Conv -> BatchNorm pair inside a Sequential
    is one convolution (one pass over memory fewer per layer)."""
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for index in range(len(module) - 1):
            conv, norm = module[index], module[index + 1]
            if isinstance(conv, _CONVOLUTIONS) and isinstance(norm, _NORMS):
                transpose = isinstance(conv, (nn.ConvTranspose2d, nn.ConvTranspose3d))
                module[index] = fuse_conv_bn_eval(conv, norm, transpose=transpose)
                module[index + 1] = nn.Identity()
    return folded


def to_channels_last(model: nn.Module) -> nn.Module:
    """Store 4-D and 5-D weights channels-last; inputs follow inside the convolutions."""
    for parameter in model.parameters():
        if parameter.dim() == 4:
            parameter.data = parameter.data.contiguous(memory_format=torch.channels_last)
        elif parameter.dim() == 5:
            parameter.data = parameter.data.contiguous(memory_format=torch.channels_last_3d)
    return model
