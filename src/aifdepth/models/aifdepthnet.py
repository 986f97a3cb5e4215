"""AiFDepthNet (Wang et al., ICCV 2021): an I3D-style Inception encoder and a transposed-conv
decoder with skip connections that score every slice of the focal stack at full resolution.

The scores become attention over the stack; depth is the attention-weighted focus position and
the all-in-focus image the attention-weighted stack, so one network trains on either supervision
and works for any number of slices and any focus unit. Nothing ever downsamples along S.
"""

import torch
from torch import nn

from .blocks import (
    Layers,
    expected_focus,
    focus_from_fraction,
    fuse_slices,
    normalise_attention,
    pad_to_multiple,
    with_index_channel,
    with_position_channel,
)
from .classical import FOCUS_CHANNEL, FocusMeasure, with_focus_channel

# I3D Inception channels (Carreira & Zisserman 2017): 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 | pool -> 1x1
INCEPTION_3 = [(64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)]
INCEPTION_4 = [
    (192, 96, 208, 16, 48, 64),
    (160, 112, 224, 24, 64, 64),
    (128, 128, 256, 24, 64, 64),
    (112, 144, 288, 32, 64, 64),
    (256, 160, 320, 32, 128, 128),
]
INCEPTION_5 = [(256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)]
STEM_CHANNELS = (64, 64, 192)  # 7x7x7 stride 2, 1x1x1, 3x3x3
# Decoder, deepest first: (upsampled channels, refined channels, channels taken from the encoder skip)
DECODER = [(64, 64, 64), (64, 64, 64), (32, 32, 32), (32, 16, 16)]
FINAL_CHANNELS = 32

WIDTH_DIVISORS = {"paper": 1, "compact": 4}
DIRECT_FEATURES = 8  # per-slice channels the direct-regression head reads (attention off)
DIRECT_HIDDEN = 32


def inception_out_channels(branches: tuple[int, ...]) -> int:
    return branches[0] + branches[2] + branches[4] + branches[5]


class Inception(nn.Module):
    """Four parallel branches concatenated along channels, as in I3D."""

    def __init__(self, layers: Layers, in_channels: int, branches: tuple[int, ...]):
        super().__init__()
        pointwise, wide_reduce, wide, narrow_reduce, narrow, pool_projection = branches
        self.pointwise = layers.conv(in_channels, pointwise)
        self.wide = nn.Sequential(layers.conv(in_channels, wide_reduce), layers.conv(wide_reduce, wide, kernel=3))
        self.narrow = nn.Sequential(
            layers.conv(in_channels, narrow_reduce), layers.conv(narrow_reduce, narrow, kernel=3)
        )
        self.pool = nn.Sequential(
            layers.max_pool(3, 3, spatial_stride=1, spatial_padding=1), layers.conv(in_channels, pool_projection)
        )

    def forward(self, x):
        return torch.cat([self.pointwise(x), self.wide(x), self.narrow(x), self.pool(x)], dim=1)


def inception_stage(layers: Layers, in_channels: int, table: list[tuple[int, ...]]) -> tuple[nn.Sequential, int]:
    blocks = []
    for branches in table:
        blocks.append(Inception(layers, in_channels, branches))
        in_channels = inception_out_channels(branches)
    return nn.Sequential(*blocks), in_channels


class I3DEncoder(nn.Module):
    """Five stages, each halving H and W (1/2 .. 1/32); returns the output of every stage."""

    def __init__(self, layers: Layers, divisor: int, in_channels: int = 3):
        super().__init__()

        def scaled(channels):
            return tuple(max(1, c // divisor) for c in channels)

        stem_1, stem_2, stem_3 = scaled(STEM_CHANNELS)
        self.stage1 = layers.conv(in_channels, stem_1, kernel=7, spatial_stride=2)
        self.stage2 = nn.Sequential(
            layers.max_pool(1, 3, spatial_stride=2, spatial_padding=1),
            layers.conv(stem_1, stem_2),
            layers.conv(stem_2, stem_3, kernel=3),
        )
        mixed_3, channels_3 = inception_stage(layers, stem_3, [scaled(b) for b in INCEPTION_3])
        self.stage3 = nn.Sequential(layers.max_pool(1, 3, spatial_stride=2, spatial_padding=1), mixed_3)
        mixed_4, channels_4 = inception_stage(layers, channels_3, [scaled(b) for b in INCEPTION_4])
        self.stage4 = nn.Sequential(layers.max_pool(1, 3, spatial_stride=2, spatial_padding=1), mixed_4)
        mixed_5, channels_5 = inception_stage(layers, channels_4, [scaled(b) for b in INCEPTION_5])
        self.stage5 = nn.Sequential(layers.max_pool(1, 2, spatial_stride=2, spatial_padding=0), mixed_5)
        self.out_channels = [stem_1, stem_3, channels_3, channels_4, channels_5]

    def forward(self, x):
        features = []
        for stage in (self.stage1, self.stage2, self.stage3, self.stage4, self.stage5):
            x = stage(x)
            features.append(x)
        return features


class Decoder(nn.Module):
    """Upsample, refine, concatenate a 1x1 projection of the encoder skip; then a last upsampling
    to full resolution and a conv giving `heads` score channels per slice."""

    def __init__(self, layers: Layers, encoder_channels: list[int], divisor: int, heads: int):
        super().__init__()
        self.ups = nn.ModuleList()
        self.skips = nn.ModuleList()
        in_channels = encoder_channels[-1]
        for (up, refined, skip), skip_source in zip(DECODER, reversed(encoder_channels[:-1])):
            up, refined, skip = (max(1, c // divisor) for c in (up, refined, skip))
            self.ups.append(nn.Sequential(layers.upsample(in_channels, up), layers.conv(up, refined, kernel=3)))
            self.skips.append(layers.conv(skip_source, skip))
            in_channels = refined + skip
        final = max(1, FINAL_CHANNELS // divisor)
        self.final_up = layers.final_upsample(in_channels, final)
        self.scores = layers.score_conv(final, heads)

    def forward(self, features):
        x = features[-1]
        for up, skip, skip_features in zip(self.ups, self.skips, reversed(features[:-1])):
            x = torch.cat([up(x), skip(skip_features)], dim=1)
        return self.scores(self.final_up(x))


def require_slices(stack_size: int, slices: int) -> None:
    """A direct-regression head reads only the stack size it was built for."""
    if slices != stack_size:
        raise ValueError(
            f"this direct-regression head reads stacks of {stack_size} slices (model.stack_size), got {slices}"
        )


class DirectRegression(nn.Module):
    """Depth without attention, as the paper's head: a conv over a fixed number of slices in focus
    order, so each slice keeps its place and the head learns which place is in focus where (a
    per-pixel MLP, two hidden layers, on the features of all slices side by side, regressing the
    fraction of the focus range). With a focus measure it also reads each slice's log measure and
    its distance to the stack's best at full resolution, which the 2D network's features, rebuilt
    from 1/2 resolution, blur. Measured on hci (760 steps, single thread, MAE on val_10 /
    heldout_10, means over training seeds 0-2): one hidden layer 0.216 / 0.182 (3D) and
    0.262 / 0.226 (2D), two 0.224 / 0.166 and 0.225 / 0.199, in the same CPU time; a head that
    pooled a shared per-slice MLP over any number of slices had 0.258 / 0.208 and 0.282 / 0.271
    with seed 0."""

    def __init__(
        self, stack_size: int, features: int = DIRECT_FEATURES, hidden: int = DIRECT_HIDDEN, measure: bool = False
    ):
        super().__init__()
        self.stack_size = stack_size
        per_slice = features + (2 if measure else 0)
        self.head = nn.Sequential(
            nn.Conv2d(stack_size * per_slice, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 1, 1),
        )

    def forward(self, features: torch.Tensor, measure: torch.Tensor | None = None) -> torch.Tensor:
        """(B, S, F, H, W) features of a stack sorted by focus and optionally the (B, S, 1, H, W)
        log focus measure -> (B, H, W) fraction of the focus range."""
        require_slices(self.stack_size, features.shape[1])
        parts = [features]
        if measure is not None:
            measure = measure.to(features.dtype)
            parts += [measure, measure - measure.amax(dim=1, keepdim=True)]
        return torch.sigmoid(self.head(torch.cat(parts, dim=2).flatten(1, 2)))[:, 0]


class OfficialDirectRegression(nn.Module):
    """The official code's head without attention: depth, in the focus unit, a learned linear mix
    of the S slices' scores at each pixel, and the AiF a sigmoid of another (from the second score
    head when there are two)."""

    def __init__(self, stack_size: int):
        super().__init__()
        self.stack_size = stack_size
        self.depth = nn.Conv2d(stack_size, 1, 1)
        self.aif = nn.Sequential(nn.Conv2d(stack_size, 3, 1), nn.Sigmoid())

    def forward(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, S, heads, H, W) -> depth (B, H, W), AiF (B, 3, H, W)."""
        require_slices(self.stack_size, scores.shape[1])
        return self.depth(scores[:, :, 0])[:, 0], self.aif(scores[:, :, -1])


class AiFDepthNet(nn.Module):
    """forward(stack (B,S,3,H,W) in [0,1], focus (B,S)) -> {"depth", "aif", "attention"}."""

    def __init__(
        self,
        conv: str = "3d",
        width: str = "compact",
        attention: bool = True,
        attention_mode: str = "shared",
        depth_normalisation: str = "softmax",
        focus_input: bool = False,
        position_input: bool = False,
        stack_size: int | None = None,
        official: bool = False,
    ):
        super().__init__()
        if official and focus_input:
            raise ValueError(
                "the official network reads no focus channel: model.arithmetic official needs focus_input off"
            )
        self.focus_measure = FocusMeasure() if focus_input else None
        self.layers = Layers(3 if conv == "3d" else 2, official)
        self.official = official
        self.attention = attention
        self.depth_normalisation = depth_normalisation
        # The official separate heads normalise both attentions alike; its shared head, like ours,
        # always takes the AiF as a softmax.
        separate = attention_mode == "separate"
        self.aif_normalisation = depth_normalisation if official and separate else "softmax"
        divisor = WIDTH_DIVISORS[width]
        heads = (2 if separate else 1) if attention or official else DIRECT_FEATURES
        self.position_input = position_input
        self.encoder = I3DEncoder(self.layers, divisor, 3 + focus_input + position_input)
        self.decoder = Decoder(self.layers, self.encoder.out_channels, divisor, heads)
        if conv == "3d":
            self._start_as_per_slice()
        if not attention:
            if stack_size is None:
                raise ValueError("a direct-regression AiFDepthNet (attention off) needs the stack_size it reads")
            if official:
                self.regression = OfficialDirectRegression(stack_size)
            else:
                self.regression = DirectRegression(stack_size, measure=focus_input)

    @torch.no_grad()
    def _start_as_per_slice(self) -> None:
        """I3D inflates pretrained 2D filters along time. With no 2D model to inflate, each 3D
        kernel keeps only its centre tap along the stack (scaled to keep the output variance),
        so training starts from the per-slice network and learns the mixing across slices.
        Measured on hci (400 steps, 20 held-out scenes): MAE 0.23 against 0.33 for the
        default initialisation."""
        for module in self.modules():
            if isinstance(module, (nn.Conv3d, nn.ConvTranspose3d)) and module.weight.shape[2] > 1:
                taps = module.weight.shape[2]
                centre = module.weight[:, :, taps // 2].clone()
                module.weight.zero_()
                module.weight[:, :, taps // 2] = centre * taps**0.5

    def slice_scores(self, stack: torch.Tensor) -> torch.Tensor:
        """(B, S, 3, H, W) with H, W multiples of 32 -> (B, S, heads, H, W)."""
        b, s = stack.shape[:2]
        if self.layers.dims == 3:
            scores = self.decoder(self.encoder(stack.transpose(1, 2)))
            return scores.transpose(1, 2)
        scores = self.decoder(self.encoder(stack.flatten(0, 1)))
        return scores.unflatten(0, (b, s))

    def forward(self, stack: torch.Tensor, focus: torch.Tensor) -> dict:
        """3D convolutions and the direct head see the order of the slices, and training stacks run
        from near to far focus; a stack in another order (Mobile Depth's autofocus sweeps run far to
        near) is fed sorted by focus, and its attention returned in the caller's order. The official
        network reads the stack in the order given, as the official test code feeds it (DDFF's runs
        far to near), since that is the order its weights were trained on."""
        if not self.official and (self.layers.dims == 3 or not self.attention) and (focus.diff(dim=1) < 0).any():
            order = focus.argsort(dim=1, stable=True)
            outputs = self._forward(
                torch.take_along_dim(stack, order[:, :, None, None, None], dim=1), focus.gather(1, order)
            )
            if outputs["attention"] is not None:
                restore = order.argsort(dim=1)[:, :, None, None].expand_as(outputs["attention"])
                outputs["attention"] = outputs["attention"].gather(1, restore)
            return outputs
        return self._forward(stack, focus)

    def _forward(self, stack: torch.Tensor, focus: torch.Tensor) -> dict:
        h, w = stack.shape[-2:]
        inputs = pad_to_multiple(
            with_focus_channel(stack, self.focus_measure), mode="constant" if self.official else "replicate"
        )
        if self.position_input:
            inputs = with_index_channel(inputs) if self.official else with_position_channel(inputs, focus)
        scores = self.slice_scores(inputs)[..., :h, :w]
        if not self.attention:
            if self.official:
                depth, aif = self.regression(scores)
                return {"depth": depth, "aif": aif, "attention": None}
            measure = inputs[:, :, FOCUS_CHANNEL, None, :h, :w] if self.focus_measure is not None else None
            fraction = self.regression(scores, measure)
            return {"depth": focus_from_fraction(fraction, focus), "aif": None, "attention": None}
        # The read-outs stay in float32 under autocast: in bfloat16 (8 significant bits) the fused
        # AiF moves in steps of 1/256, the size of the unsupervised loss late in training, and a
        # depth near 50 in steps of 0.25.
        with torch.autocast(stack.device.type, enabled=False):
            scores = scores.to(torch.promote_types(scores.dtype, torch.float32))  # float64 stays
            depth_attention = normalise_attention(scores[:, :, 0], self.depth_normalisation)
            aif_attention = normalise_attention(scores[:, :, -1], self.aif_normalisation)  # the second head if separate
            return {
                "depth": expected_focus(depth_attention, focus),
                "aif": fuse_slices(aif_attention, stack),
                "attention": depth_attention,
            }
