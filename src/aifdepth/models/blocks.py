"""Building blocks shared by the models: layers for 3D or per-slice 2D convolution, padding,
and the read-outs that turn per-slice scores into depth and all-in-focus images."""

import torch
import torch.nn.functional as F
from torch import nn

PAD_MULTIPLE = 32  # every encoder halves H and W at most five times
# I3D pads with zeros. Along the stack, zeros let a network tell the end slices from the others
# and learn the scenes' depth prior before it learns focus (measured: val MAE 0.67 vs 0.43 after
# 200 steps on the default hci data); replicate padding removes that shortcut.
STACK_PADDING = "replicate"


class Layers:
    """Builds the same layer in 3D (mixing along the stack) or 2D (each slice on its own).

    Kernels are given as (along the stack, spatial); the 2D variant drops the stack part,
    so one network description serves both variants and stays stride-1 along S. `official`
    builds the official code's arithmetic instead (zero padding everywhere, and the stack not
    padded by replicated ends before the transposed convolutions), so its checkpoints load.
    Its convolutions' biases are not kept: each feeds a batch norm, which takes it exactly
    into its running mean (see `official.fold_bias`).
    """

    def __init__(self, dims: int, official: bool = False):
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {dims}")
        if official and dims != 3:
            raise ValueError("the official network has 3D convolutions only")
        self.dims = dims
        self.official = official
        self.padding_mode = "zeros" if official else STACK_PADDING

    def shape(self, along_stack: int, spatial: int) -> tuple[int, ...]:
        return (along_stack, spatial, spatial) if self.dims == 3 else (spatial, spatial)

    def _same_padding(self, along_stack: int, spatial: int) -> tuple[int, ...]:
        return self.shape(along_stack // 2, spatial // 2)

    def conv(self, in_channels: int, out_channels: int, kernel: int = 1, spatial_stride: int = 1) -> nn.Sequential:
        """Conv-BatchNorm-ReLU with a cubic kernel, replicate-padded (see STACK_PADDING)."""
        conv_type = nn.Conv3d if self.dims == 3 else nn.Conv2d
        norm_type = nn.BatchNorm3d if self.dims == 3 else nn.BatchNorm2d
        return nn.Sequential(
            conv_type(
                in_channels,
                out_channels,
                self.shape(kernel, kernel),
                stride=self.shape(1, spatial_stride),
                padding=self._same_padding(kernel, kernel),
                padding_mode=self.padding_mode if kernel > 1 else "zeros",  # kernel 1 pads nothing: no copy
                bias=False,
            ),
            norm_type(out_channels),
            nn.ReLU(inplace=True),
        )

    def upsample(self, in_channels: int, out_channels: int) -> nn.Sequential:
        """Transposed conv doubling H and W, keeping S: kernel 3 along the stack, 4 spatially.

        In 3D the stack is replicate-padded by one slice at each end and the transposed conv
        crops two, so the end slices see copies of themselves rather than zeros."""
        norm_type = nn.BatchNorm3d if self.dims == 3 else nn.BatchNorm2d
        if self.official:
            layers = [self.official_upsample(in_channels, out_channels, bias=False)]
        elif self.dims == 3:
            layers = [
                ReplicateStackEnds(),
                FullPrecisionConvTranspose3d(
                    in_channels, out_channels, (3, 4, 4), stride=(1, 2, 2), padding=(2, 1, 1), bias=False
                ),
            ]
        else:
            layers = [nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=False)]
        return nn.Sequential(*layers, norm_type(out_channels), nn.ReLU(inplace=True))

    @staticmethod
    def official_upsample(in_channels: int, out_channels: int, bias: bool) -> nn.Module:
        """The official transposed conv: zero-padded along the stack (one slice cropped at each end)."""
        return FullPrecisionConvTranspose3d(
            in_channels, out_channels, (3, 4, 4), stride=(1, 2, 2), padding=(1, 1, 1), bias=bias
        )

    def final_upsample(self, in_channels: int, out_channels: int) -> nn.Module:
        """The last upsampling to full resolution; the official one is a bare transposed conv with
        a bias, no batch norm or ReLU after it."""
        if self.official:
            return self.official_upsample(in_channels, out_channels, bias=True)
        return self.upsample(in_channels, out_channels)

    def max_pool(self, along_stack: int, spatial: int, spatial_stride: int, spatial_padding: int) -> nn.Module:
        pool_type = nn.MaxPool3d if self.dims == 3 else nn.MaxPool2d
        return pool_type(
            self.shape(along_stack, spatial),
            stride=self.shape(1, spatial_stride),
            padding=self.shape(along_stack // 2, spatial_padding),
        )

    def score_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """Plain 3x3(x3) conv: scores are logits, so no normalisation or activation, and no bias,
        which a softmax over S would cancel (the official one has a bias: its softplus keeps it)."""
        conv_type = nn.Conv3d if self.dims == 3 else nn.Conv2d
        return conv_type(
            in_channels,
            out_channels,
            self.shape(3, 3),
            padding=self.shape(1, 1),
            padding_mode=self.padding_mode,
            bias=self.official,
        )


class FullPrecisionConvTranspose3d(nn.ConvTranspose3d):
    """A transposed 3D convolution that stays in float32 under autocast: torch 2.13's CPU bfloat16
    kernel returned non-finite weight gradients, at random, for stacks of 2 to 4 slices."""

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.to(self.weight.dtype), output_size)


class ReplicateStackEnds(nn.Module):
    """Repeat the first and the last slice of (B, C, S, H, W) once."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[:, :, :1], x, x[:, :, -1:]], dim=2)


def pad_to_multiple(stack: torch.Tensor, multiple: int = PAD_MULTIPLE, mode: str = "replicate") -> torch.Tensor:
    """Pad the bottom and right of (B, S, C, H, W); replicate works for any size, reflect would
    fail on images smaller than the padding (the official test code pads with zeros: "constant")."""
    b, s, c, h, w = stack.shape
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h == 0 and pad_w == 0:
        return stack
    padded = F.pad(stack.reshape(b, s * c, h, w), (0, pad_w, 0, pad_h), mode=mode)
    return padded.reshape(b, s, c, h + pad_h, w + pad_w)


def normalise_attention(scores: torch.Tensor, mode: str = "softmax") -> torch.Tensor:
    """Per-slice scores (B, S, H, W) to weights that are >= 0 and sum to 1 over S."""
    if mode == "softmax":
        return torch.softmax(scores, dim=1)
    if mode == "softplus":
        positive = F.softplus(scores)
        return positive / positive.sum(dim=1, keepdim=True).clamp_min(torch.finfo(positive.dtype).tiny)
    raise ValueError(f"unknown attention normalisation {mode!r}")


def expected_focus(attention: torch.Tensor, focus: torch.Tensor) -> torch.Tensor:
    """Depth (B, H, W) as the attention-weighted focus: a convex combination, so it stays
    within the focus range whatever the unit."""
    return torch.einsum("bshw,bs->bhw", attention, focus.to(attention.dtype))


def fuse_slices(attention: torch.Tensor, stack: torch.Tensor) -> torch.Tensor:
    """All-in-focus image (B, 3, H, W) from the stack (B, S, 3, H, W)."""
    return torch.einsum("bshw,bschw->bchw", attention, stack)


def relative_focus(focus: torch.Tensor) -> torch.Tensor:
    """Each slice's focus mapped to [0, 1] within its own sample (0 = min focus), whatever the unit."""
    low = focus.amin(dim=1, keepdim=True)
    span = (focus.amax(dim=1, keepdim=True) - low).clamp_min(torch.finfo(focus.dtype).eps)
    return (focus - low) / span


def with_position_channel(stack: torch.Tensor, focus: torch.Tensor) -> torch.Tensor:
    """(B, S, C, H, W) -> (B, S, C+1, H, W): each slice's relative focus as a constant plane. Without
    attention, a network must know where each slice sits in the focus range before it pools over them."""
    plane = relative_focus(focus).to(stack.dtype)[:, :, None, None, None].expand(-1, -1, 1, *stack.shape[-2:])
    return torch.cat([stack, plane], dim=2)


def with_index_channel(stack: torch.Tensor) -> torch.Tensor:
    """(B, S, C, H, W) -> (B, S, C+1, H, W): the official 4-channel input, slice k of S (from 1)
    as the constant plane k / S, whatever its focus position."""
    s = stack.shape[1]
    index = torch.arange(1, s + 1, device=stack.device, dtype=stack.dtype) / s
    plane = index[None, :, None, None, None].expand(stack.shape[0], -1, 1, *stack.shape[-2:])
    return torch.cat([stack, plane], dim=2)


def focus_from_fraction(fraction: torch.Tensor, focus: torch.Tensor) -> torch.Tensor:
    """Map a per-pixel fraction (B, H, W) in [0, 1] onto each sample's [min focus, max focus]."""
    low = focus.amin(dim=1).view(-1, 1, 1)
    high = focus.amax(dim=1).view(-1, 1, 1)
    return low + fraction * (high - low)
