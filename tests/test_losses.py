"""Training losses against values worked out by hand, and their gradients."""

import math

import pytest
import torch

from aifdepth.losses import aif_l1, edge_aware_smoothness, supervised_l1, total_loss

NAN = float("nan")


def rho(t):
    return math.sqrt(t * t + 1e-6)


def test_supervised_l1_ignores_unknown_gt():
    pred = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]], requires_grad=True)
    gt = torch.tensor([[[1.5, NAN], [2.0, 4.0]]])
    loss = supervised_l1(pred, gt, torch.isfinite(gt))
    assert loss.item() == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    loss.backward()
    # d|p - g|/dp = sign(p - g) / 3 on the 3 known pixels; nothing (and no NaN) on the unknown one
    assert torch.equal(pred.grad, torch.tensor([[[-1 / 3, 0.0], [1 / 3, 0.0]]]))


def test_supervised_l1_without_valid_pixels_is_zero_and_differentiable():
    pred = torch.ones(1, 2, 2, requires_grad=True)
    gt = torch.full((1, 2, 2), NAN)
    loss = supervised_l1(pred, gt, torch.isfinite(gt))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros(1, 2, 2))


def test_aif_l1_by_hand():
    pred = torch.full((1, 3, 1, 2), 0.5)
    gt = torch.tensor([0.0, 1.0, 0.5, 0.5, 0.25, 0.75]).reshape(1, 3, 1, 2)
    assert aif_l1(pred, gt).item() == pytest.approx((0.5 + 0.5 + 0 + 0 + 0.25 + 0.25) / 6)


def test_smoothness_of_constant_depth_is_rho_of_zero():
    depth = torch.full((2, 4, 5), 0.7)
    flat = torch.full((2, 3, 4, 5), 0.3)
    assert edge_aware_smoothness(depth, flat).item() == pytest.approx(rho(0.0))  # 1e-3, all weights 1
    faint_edge = flat.clone()
    faint_edge[..., 2:] += 1 / 150  # weight exp(-(150 / 150)^2) on the 1 of 4 column differences crossing it
    expected = rho(0.0) * 0.5 * (1 + (3 + math.exp(-1)) / 4)
    assert edge_aware_smoothness(depth, faint_edge).item() == pytest.approx(expected)


def test_smoothness_of_a_ramp_on_a_flat_image():
    rows, cols = torch.meshgrid(torch.arange(4.0), torch.arange(6.0), indexing="ij")
    depth = (0.05 * rows + 0.2 * cols)[None]  # forward differences: dy = 0.05 on 3x6, dx = 0.2 on 4x5
    flat = torch.full((1, 3, 4, 6), 0.5)
    assert edge_aware_smoothness(depth, flat).item() == pytest.approx(0.5 * (rho(0.05) + rho(0.2)))


def test_an_image_edge_at_the_depth_edge_lowers_the_penalty():
    depth = torch.zeros(1, 3, 4)
    depth[..., 2:] = 1.0  # dx D: columns 0|1, 1|2, 2|3 -> 0, 1, 0 on every row; dy D = 0
    flat = torch.full((1, 3, 3, 4), 0.2)
    edge = flat.clone()
    edge[..., 2:] = 0.7  # the image steps by 0.5 where the depth does: weight exp(-75^2) ~ 0 there
    across = flat.clone()
    across[..., 2:, :] = 0.7  # a step between rows does not excuse a step between columns
    assert edge_aware_smoothness(depth, flat).item() == pytest.approx(0.5 * (rho(0) + (2 * rho(0) + rho(1)) / 3))
    assert edge_aware_smoothness(depth, edge).item() == pytest.approx(0.5 * (rho(0) + 2 * rho(0) / 3))
    assert edge_aware_smoothness(depth, across).item() > edge_aware_smoothness(depth, edge).item()


def test_smoothness_gradient_flows_to_depth():
    depth = torch.rand(2, 5, 6, generator=torch.Generator().manual_seed(1), requires_grad=True)
    edge_aware_smoothness(depth, torch.full((2, 3, 5, 6), 0.5)).backward()
    assert torch.isfinite(depth.grad).all() and depth.grad.abs().sum() > 0


def example(with_aif=True):
    outputs = {
        "depth": torch.tensor([[[1.0, 2.0], [3.0, 4.0]]], requires_grad=True),
        "aif": torch.full((1, 3, 2, 2), 0.5, requires_grad=True) if with_aif else None,
    }
    batch = {
        "depth": torch.tensor([[[1.5, NAN], [2.0, 4.0]]]),
        "aif": torch.full((1, 3, 2, 2), 0.25),
        "image": torch.full((1, 3, 2, 2), 0.5),
    }
    return outputs, batch


def test_total_loss_weights_the_parts():
    outputs, batch = example()
    total, parts = total_loss(outputs, batch, {"supervised": 1.0, "unsupervised": 0.5, "smoothness": 0.1})
    supervised = (0.5 + 1.0 + 0.0) / 3
    unsupervised = 0.25
    smoothness = 0.5 * ((rho(2) + rho(2)) / 2 + (rho(1) + rho(1)) / 2)  # dy = 2 on 1x2, dx = 1 on 2x1
    assert parts == pytest.approx({"supervised": supervised, "unsupervised": unsupervised, "smoothness": smoothness})
    assert total.item() == pytest.approx(supervised + 0.5 * unsupervised + 0.1 * smoothness)
    total.backward()
    assert torch.isfinite(outputs["depth"].grad).all() and outputs["aif"].grad is not None


def test_total_loss_reports_only_active_parts_and_respects_valid():
    outputs, batch = example(with_aif=False)
    batch["valid"] = torch.tensor([[[False, True], [True, True]]])
    total, parts = total_loss(outputs, batch, {"supervised": 2.0, "unsupervised": 0.0, "smoothness": 0.0})
    assert set(parts) == {"supervised"}
    assert parts["supervised"] == pytest.approx((1.0 + 0.0) / 2)  # pixel 0 not valid, pixel 1 unknown
    assert total.item() == pytest.approx(2 * 0.5)


@pytest.mark.parametrize("model_has_aif", [True, False])
def test_total_loss_needs_aif_for_the_unsupervised_loss(model_has_aif):
    outputs, batch = example(with_aif=model_has_aif)
    if model_has_aif:
        del batch["aif"]
    with pytest.raises(ValueError, match=r"unsupervised \(AiF\) loss needs a model with attention and GT AiF"):
        total_loss(outputs, batch, {"supervised": 1.0, "unsupervised": 1.0, "smoothness": 0.0})


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"supervised": 1.0, "smooth": 0.1}, "unknown loss weight"),
        ({"supervised": -1.0}, ">= 0"),
        ({"supervised": 0.0, "unsupervised": 0.0, "smoothness": 0.0}, "at least one"),
    ],
)
def test_total_loss_rejects_bad_weights(weights, message):
    outputs, batch = example()
    with pytest.raises(ValueError, match=message):
        total_loss(outputs, batch, weights)
