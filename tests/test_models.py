"""The models' common contract (shapes, attention, depth range, any S and focus unit; the direct
head its own fixed S), their sizes, the classical baseline on a synthetic stack, order invariance,
trainability and config."""

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from aifdepth.models import ModelConfig, build_model, count_parameters
from aifdepth.models.blocks import Layers

ATTENTION_VARIANTS = [
    ModelConfig(conv=conv, attention_mode=mode, depth_normalisation=normalisation)
    for conv in ("3d", "2d")
    for mode in ("shared", "separate")
    for normalisation in ("softmax", "softplus")
]
DIRECT_VARIANTS = [ModelConfig(conv=conv, attention=False) for conv in ("3d", "2d")]
BASELINES = [ModelConfig(architecture="defocusnet"), ModelConfig(architecture="classical")]
FOCUS_INPUT_VARIANTS = [ModelConfig(conv=conv, focus_input=True) for conv in ("3d", "2d")] + [
    ModelConfig(conv="3d", attention=False, focus_input=True),
    ModelConfig(architecture="defocusnet", focus_input=True),
]
POSITION_INPUT_VARIANTS = [  # the default config's direct-regression variants
    ModelConfig(conv=conv, attention=False, focus_input=True, position_input=True) for conv in ("3d", "2d")
]
ALL_VARIANTS = ATTENTION_VARIANTS + DIRECT_VARIANTS + BASELINES + FOCUS_INPUT_VARIANTS + POSITION_INPUT_VARIANTS

# (slices, height, width, first focus, last focus): odd sizes, both orders, negative focus, S = 2..37
CASES = [
    (5, 45, 61, 0.1, 1.5),
    (5, 45, 61, 60.0, 10.0),
    (10, 45, 61, -2.5, 2.5),
    (2, 33, 17, 3.0, -1.0),
    (37, 9, 7, -2.5, 2.5),
]


def in_float64(model: torch.nn.Module) -> torch.nn.Module:
    """A float64 copy for tests of exact properties (order invariance, replicated ends): two
    float32 evaluations that differ only in the order a CPU kernel accumulates (which varies
    with the CPU and the slice position) differ by ~1e-4 of the output after this network's
    thousands of multiply-adds; in float64 the same reordering costs ~1e-13, so the default
    float64 tolerance (1e-7) separates a broken property from rounding on any machine."""
    return copy.deepcopy(model).double()


def variant_id(config: ModelConfig) -> str:
    focus = ("-focus-input" if config.focus_input else "") + ("-position-input" if config.position_input else "")
    if config.architecture != "aifdepthnet":
        return config.architecture + focus
    if not config.attention:
        return f"{config.conv}-direct{focus}"
    return f"{config.conv}-{config.attention_mode}-{config.depth_normalisation}{focus}"


def has_attention(config: ModelConfig) -> bool:
    return config.architecture == "classical" or (config.architecture == "aifdepthnet" and config.attention)


def is_direct(config: ModelConfig) -> bool:
    return config.architecture == "aifdepthnet" and not config.attention


def build_for(config: ModelConfig, slices: int) -> torch.nn.Module:
    """The network for stacks of `slices`: only the direct head is built for one stack size."""
    torch.manual_seed(0)
    return build_model(dataclasses.replace(config, stack_size=slices) if is_direct(config) else config).eval()


@pytest.fixture(scope="module")
def models():
    """Every variant, the direct ones for 6-slice stacks."""
    return {variant_id(c): build_for(c, 6) for c in ALL_VARIANTS}


@pytest.mark.parametrize("config", ALL_VARIANTS, ids=variant_id)
def test_outputs_follow_the_contract(models, config):
    generator = torch.Generator().manual_seed(1)
    for slices, height, width, first, last in CASES:
        model = build_for(config, slices) if is_direct(config) else models[variant_id(config)]
        batch = 2
        stack = torch.rand(batch, slices, 3, height, width, generator=generator)
        focus = torch.linspace(first, last, slices).repeat(batch, 1)
        focus[1] *= 0.5  # a second sample with its own range
        with torch.no_grad():
            out = model(stack, focus)
        case = f"S={slices} {height}x{width} focus {first}..{last}"
        depth = out["depth"]
        assert depth.shape == (batch, height, width), case
        assert torch.isfinite(depth).all(), case
        low, high = focus.amin(dim=1).view(-1, 1, 1), focus.amax(dim=1).view(-1, 1, 1)
        tolerance = 1e-5 * (high - low)
        assert (depth >= low - tolerance).all() and (depth <= high + tolerance).all(), case
        if has_attention(config):
            attention, aif = out["attention"], out["aif"]
            assert attention.shape == (batch, slices, height, width), case
            assert aif.shape == (batch, 3, height, width), case
            assert torch.isfinite(attention).all() and torch.isfinite(aif).all(), case
            assert (attention >= 0).all(), case
            torch.testing.assert_close(attention.sum(dim=1), torch.ones(batch, height, width), atol=1e-5, rtol=0)
            assert (aif >= -1e-5).all() and (aif <= 1 + 1e-5).all(), case
        else:
            assert out["attention"] is None and out["aif"] is None, case


@pytest.mark.parametrize("config", DIRECT_VARIANTS + POSITION_INPUT_VARIANTS, ids=variant_id)
def test_direct_regression_reads_only_its_own_stack_size(models, config):
    """The paper's direct head is a conv over a fixed stack: another stack size is refused by
    name, not read as if its slices were in other places."""
    model = models[variant_id(config)]
    stack = torch.rand(1, 5, 3, 32, 32)
    with pytest.raises(ValueError, match=r"reads stacks of 6 slices \(model\.stack_size\), got 5"):
        model(stack, torch.linspace(0.0, 1.0, 5)[None])
    with pytest.raises(ValueError, match="needs the stack_size"):
        build_model(dataclasses.replace(config, stack_size=None))


def test_parameter_counts():
    paper_3d = count_parameters(build_model(ModelConfig(conv="3d", width="paper")))
    assert 15e6 < paper_3d < 18e6
    for conv in ("3d", "2d"):
        assert count_parameters(build_model(ModelConfig(conv=conv, width="compact"))) < 1.5e6
    assert count_parameters(build_model(ModelConfig(architecture="defocusnet", width="compact"))) < 1.5e6
    assert count_parameters(build_model(ModelConfig(architecture="classical"))) == 0


def two_plane_stack(focus: np.ndarray, sharp_left: int, sharp_right: int, size: int = 64):
    """A texture whose left half is in focus in slice `sharp_left` and right half in `sharp_right`;
    blur grows by one pixel of Gaussian sigma per slice away from focus."""
    rng = np.random.default_rng(3)
    texture = ndimage.gaussian_filter(rng.random((size, size, 3)), (0.7, 0.7, 0))
    texture = (texture - texture.min()) / (texture.max() - texture.min())
    slices = []
    for index in range(len(focus)):
        left = ndimage.gaussian_filter(texture, (abs(index - sharp_left),) * 2 + (0,))
        right = ndimage.gaussian_filter(texture, (abs(index - sharp_right),) * 2 + (0,))
        slices.append(np.concatenate([left[:, : size // 2], right[:, size // 2 :]], axis=1))
    stack = torch.from_numpy(np.stack(slices)).permute(0, 3, 1, 2)[None].float()
    return stack, torch.from_numpy(focus)[None].float(), torch.from_numpy(texture).permute(2, 0, 1).float()


def test_classical_recovers_two_planes():
    focus = np.linspace(-2.5, 2.5, 6)
    stack, focus_tensor, texture = two_plane_stack(focus, sharp_left=1, sharp_right=4)
    out = build_model(ModelConfig(architecture="classical"))(stack, focus_tensor)
    step = focus[1] - focus[0]
    depth = out["depth"][0]
    left, right = depth[8:-8, 8:24], depth[8:-8, 40:-8]  # away from the borders and the seam
    assert (left - focus[1]).abs().max() < 0.25 * step
    assert (right - focus[4]).abs().max() < 0.25 * step
    # its all-in-focus image is closer to the sharp texture than any slice
    aif_error = (out["aif"][0] - texture)[:, 8:-8, 8:-8].abs().mean()
    slice_errors = (stack[0] - texture)[:, :, 8:-8, 8:-8].abs().mean(dim=(1, 2, 3))
    assert aif_error < slice_errors.min()


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(architecture="classical"),
        ModelConfig(architecture="defocusnet"),
        ModelConfig(architecture="defocusnet", focus_input=True),
    ],
    ids=variant_id,
)
def test_order_invariant_baselines(models, config):
    """Permuting the slices together with their focus values leaves the depth unchanged."""
    model = in_float64(models[variant_id(config)])
    generator = torch.Generator().manual_seed(2)
    stack = torch.rand(2, 6, 3, 40, 40, generator=generator, dtype=torch.float64)
    focus = torch.linspace(0.5, 3.0, 6, dtype=torch.float64).repeat(2, 1)
    order = torch.randperm(6, generator=generator)
    with torch.no_grad():
        depth = model(stack, focus)["depth"]
        shuffled = model(stack[:, order], focus[:, order])["depth"]
    torch.testing.assert_close(shuffled, depth)


def test_gradient_reaches_every_parameter_of_compact_3d():
    torch.manual_seed(0)
    model = build_model(ModelConfig(conv="3d", attention_mode="separate")).train()
    stack = torch.rand(2, 4, 3, 32, 32)
    focus = torch.linspace(0.0, 1.0, 4).repeat(2, 1)
    out = model(stack, focus)
    loss = (out["depth"] - 0.3).abs().mean() + (out["aif"] - stack[:, 0]).abs().mean()
    loss.backward()
    silent = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not silent


def test_config_round_trips_and_rejects_bad_values():
    config = ModelConfig(
        conv="2d", width="paper", attention=False, attention_mode="separate", depth_normalisation="softplus"
    )
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert ModelConfig.from_dict({}) == ModelConfig()
    for key, value in [
        ("conv", "4d"),
        ("architecture", "unet"),
        ("width", "huge"),
        ("attention", "yes"),
        ("attention_mode", "both"),
        ("depth_normalisation", "relu"),
    ]:
        with pytest.raises(ValueError, match=key):
            ModelConfig.from_dict({key: value})
    with pytest.raises(ValueError, match="colour"):
        ModelConfig.from_dict({"colour": "rgb"})
    with pytest.raises(ValueError, match="focus_input"):
        ModelConfig.from_dict({"focus_input": 1})


def test_untrained_3d_network_scores_each_slice_on_its_own():
    """The 3D kernels start with only their centre tap along the stack, so before training every
    convolution works per slice; the one path left across slices is I3D's 3-slice max pooling in
    the Inception pool branches, which barely moves a slice whose own pixels did not change
    (measured: 1.8e-7 against 2e-2 for the altered slices)."""
    torch.manual_seed(1)
    model = in_float64(build_model(ModelConfig(conv="3d")).eval())
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv3d, torch.nn.ConvTranspose3d)) and module.weight.shape[2] > 1:
            centre = module.weight.shape[2] // 2
            assert not module.weight[:, :, :centre].any() and not module.weight[:, :, centre + 1 :].any()
    stack = torch.rand(1, 6, 3, 32, 32, dtype=torch.float64)
    altered = stack.clone()
    altered[:, [0, 1, 4, 5]] = torch.rand(1, 4, 3, 32, 32, dtype=torch.float64)
    with torch.inference_mode():
        change = (model.slice_scores(stack) - model.slice_scores(altered)).abs()
    assert change[:, 2:4].max() < 1e-4 * change[:, [0, 1, 4, 5]].max()


def test_end_slices_are_padded_with_copies_not_zeros():
    """Replicate padding along the stack: a stack of identical slices scores every slice the
    same, the end slices included, whatever the weights."""
    torch.manual_seed(2)
    model = build_model(ModelConfig(conv="3d"))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))  # mix across slices, as after training
    model = in_float64(model.eval())
    image = torch.rand(1, 1, 3, 32, 32, dtype=torch.float64)
    with torch.inference_mode():
        scores = model.slice_scores(image.expand(1, 7, 3, 32, 32).contiguous())
    torch.testing.assert_close(scores[:, 0], scores[:, 3])
    torch.testing.assert_close(scores[:, 6], scores[:, 3])


@pytest.mark.parametrize("dims", [3, 2])
def test_pointwise_convolutions_give_the_replicate_padded_result_without_padding(monkeypatch, dims):
    """A 1x1(x1) convolution has nothing to pad: it runs without the replicate copy (8 % of a
    3D training step), and gives what the replicate-padded layer gives, bit for bit."""
    torch.manual_seed(0)
    layer = Layers(dims).conv(4, 6, kernel=1).eval()
    padded = copy.deepcopy(layer)
    padded[0].padding_mode = "replicate"
    x = torch.rand(2, 4, *(5, 9, 7)[3 - dims :])
    expected = padded(x)
    pads = []
    monkeypatch.setattr(torch.nn.functional, "pad", lambda *args, **kwargs: pads.append(args))
    assert torch.equal(layer(x), expected)
    assert pads == []


def test_attention_read_outs_stay_in_float32_under_bfloat16_autocast():
    """Under autocast the network runs in bfloat16, but depth and AiF come out of float32 read-outs:
    a bfloat16 depth between 32 and 64 could only be a multiple of 0.25, a bfloat16 AiF one of 1/256."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(conv="3d", focus_input=True)).eval()
    stack, focus = torch.rand(1, 5, 3, 32, 32), torch.linspace(40.0, 60.0, 5)[None]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        outputs = model(stack, focus)
    assert {outputs[key].dtype for key in ("depth", "aif", "attention")} == {torch.float32}
    assert ((outputs["depth"] * 4) % 1 != 0).float().mean() > 0.9
    assert ((outputs["aif"] * 256) % 1 != 0).float().mean() > 0.9


def test_focus_channel_is_the_log_of_each_slices_laplacian_energy():
    """A grey checkerboard of amplitude a has a Laplacian of 8a at every inner pixel, so its
    windowed energy is 64 a^2; a flat slice reads the floor. Halving the other slice's contrast
    leaves this slice's channel unchanged: it is computed per slice."""
    from aifdepth.models.classical import LOG_CENTRE, LOG_FLOOR, LOG_SCALE, FocusMeasure

    rows, cols = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    checker = ((rows + cols) % 2 * 2 - 1).to(torch.float64)
    stack = torch.stack([0.5 + 0.2 * checker, torch.full_like(checker, 0.5), 0.5 + 0.1 * checker])
    stack = stack[None, :, None].expand(1, 3, 3, 32, 32)
    measure = FocusMeasure().double()
    channel = measure.log_measure(stack)[0, :, 8:-8, 8:-8]  # away from the replicated borders
    for slice_index, energy in [(0, 64 * 0.2**2), (1, LOG_FLOOR), (2, 64 * 0.1**2)]:
        expected = (math.log(energy) - LOG_CENTRE) / LOG_SCALE
        torch.testing.assert_close(channel[slice_index], torch.full_like(channel[0], expected))
    softer = stack.clone()
    softer[:, 2] = 0.5 + 0.05 * checker
    torch.testing.assert_close(measure.log_measure(softer)[:, :2], measure.log_measure(stack)[:, :2])


def test_2d_network_with_the_focus_channel_still_scores_each_slice_on_its_own(models):
    """The focus channel is computed per slice, so the 2D ablation gains no view across the stack:
    altering some slices leaves the other slices' scores exactly as they were."""
    model = in_float64(models[variant_id(ModelConfig(conv="2d", focus_input=True))])
    stack = torch.rand(1, 5, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    altered = stack.clone()
    altered[:, [0, 4]] = 1.0 - altered[:, [0, 4]]
    with torch.inference_mode():
        scores, altered_scores = (
            model.slice_scores(model_input(model, stack)),
            model.slice_scores(model_input(model, altered)),
        )
    torch.testing.assert_close(altered_scores[:, 1:4], scores[:, 1:4])
    assert (altered_scores[:, [0, 4]] - scores[:, [0, 4]]).abs().max() > 1e-3


def model_input(model, stack):
    from aifdepth.models.classical import with_focus_channel

    return with_focus_channel(stack, model.focus_measure)


def test_position_channel_is_each_slices_place_in_its_own_focus_range():
    from aifdepth.models.blocks import with_position_channel

    stack = torch.rand(2, 3, 4, 5, 6)
    focus = torch.tensor([[-2.5, 0.0, 2.5], [60.0, 35.0, 10.0]])  # the second sample far to near
    planes = with_position_channel(stack, focus)
    assert planes.shape == (2, 3, 5, 5, 6)
    torch.testing.assert_close(planes[:, :, :4], stack)
    for sample, expected in enumerate([(0.0, 0.5, 1.0), (1.0, 0.5, 0.0)]):
        for slice_index, value in enumerate(expected):
            assert (planes[sample, slice_index, 4] == value).all()
    model = build_model(ModelConfig(conv="2d", attention=False, position_input=True, stack_size=3))
    assert model.encoder.stage1[0].in_channels == 4


@pytest.mark.parametrize("conv, attention", [("3d", True), ("3d", False), ("2d", False)])
def test_order_aware_networks_read_a_stack_in_any_focus_order_as_sorted(conv, attention):
    """The 3D network and the direct head learn from stacks in increasing focus; one that comes far
    to near (Mobile Depth's sweeps, DDFF) gives the depth and AiF of the sorted stack, attention in
    its own order."""
    config = ModelConfig(conv=conv, attention=attention, focus_input=True, stack_size=None if attention else 6)
    model = in_float64(build_model(config).eval())
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():  # mix the slices, as training does (the network starts per slice)
        for weight in model.parameters():
            weight.add_(0.05 * torch.randn(weight.shape, generator=generator, dtype=weight.dtype))
    stack = torch.rand(2, 6, 3, 32, 32, generator=generator, dtype=torch.float64)
    focus = torch.linspace(-2.5, 2.5, 6, dtype=torch.float64).repeat(2, 1)
    order = torch.tensor([[5, 4, 3, 2, 1, 0], [2, 0, 5, 1, 4, 3]])
    with torch.no_grad():
        sorted_out = model(stack, focus)
        shuffled = model(torch.stack([stack[i, order[i]] for i in range(2)]), focus.gather(1, order))
    torch.testing.assert_close(shuffled["depth"], sorted_out["depth"])
    if attention:
        torch.testing.assert_close(shuffled["aif"], sorted_out["aif"])
        for i in range(2):
            torch.testing.assert_close(shuffled["attention"][i], sorted_out["attention"][i, order[i]])


@pytest.mark.parametrize("conv", ["3d", "2d"])
def test_direct_head_reads_each_slices_log_focus_measure_at_full_resolution(conv):
    """The direct-regression head gets, per slice, the same log measure the encoder reads, cropped
    back to the image (not the padded size), and its output moves when that measure does, and
    with the place of the slice where it peaks."""
    from aifdepth.models.aifdepthnet import DIRECT_FEATURES

    model = in_float64(
        build_model(ModelConfig(conv=conv, attention=False, focus_input=True, position_input=True, stack_size=4))
    )
    model.eval()
    seen = {}
    model.regression.register_forward_hook(lambda module, args, output: seen.update(measure=args[1]))
    stack = torch.rand(1, 4, 3, 40, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    focus = torch.tensor([[-2.5, -1.0, 1.0, 2.5]], dtype=torch.float64)
    with torch.inference_mode():
        model(stack, focus)
        expected = model.focus_measure.log_measure(stack)[:, :, None]
        torch.testing.assert_close(seen["measure"], expected)
        features = torch.zeros(1, 4, DIRECT_FEATURES, 40, 50, dtype=torch.float64)
        flat, peaked, peaked_further = expected.clone(), expected.clone(), expected.clone()
        peaked[:, 1] += 3.0
        peaked_further[:, 2] += 3.0
        depth = {
            name: model.regression(features, m) for name, m in [("flat", flat), ("1", peaked), ("2", peaked_further)]
        }
        assert not torch.equal(depth["flat"], depth["1"])
        assert not torch.equal(depth["1"], depth["2"])
