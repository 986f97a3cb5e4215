"""Inference rewrites keep the outputs of the trained-mode network. Compared in float64: the
rewrites change the order of the arithmetic, which in float32 moves outputs by an amount that
depends on the CPU's kernels, in float64 by ~1e-13."""

import torch

from aifdepth.models import ModelConfig, build_model
from aifdepth.models.inference import fold_batchnorm, to_channels_last


def trained_like(config):
    """A model whose batch-norm statistics are not the identity, as after training."""
    torch.manual_seed(0)
    model = build_model(config)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(2, 4, 3, 32, 32), torch.linspace(-1, 1, 4).repeat(2, 1))
    return model.eval().double()


def test_folding_batchnorm_keeps_outputs_and_removes_norms():
    for conv in ("3d", "2d"):
        model = trained_like(ModelConfig(conv=conv))
        folded = fold_batchnorm(model)
        assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)) for m in folded.modules())
        stack = torch.rand(1, 5, 3, 40, 36, dtype=torch.float64)
        focus = torch.linspace(-2.5, 2.5, 5, dtype=torch.float64)[None]
        with torch.inference_mode():
            expected, got = model(stack, focus), folded(stack, focus)
        torch.testing.assert_close(got["depth"], expected["depth"])
        torch.testing.assert_close(got["aif"], expected["aif"])


def test_channels_last_keeps_outputs():
    model = trained_like(ModelConfig(conv="3d"))
    fast = to_channels_last(fold_batchnorm(model))
    stack = torch.rand(1, 4, 3, 32, 32, dtype=torch.float64)
    focus = torch.linspace(0, 1, 4, dtype=torch.float64)[None]
    with torch.inference_mode():
        torch.testing.assert_close(fast(stack, focus)["depth"], model(stack, focus)["depth"])
