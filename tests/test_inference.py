"""Inference rewrites keep the outputs of the trained-mode network."""

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
    return model.eval()


def test_folding_batchnorm_keeps_outputs_and_removes_norms():
    for conv in ("3d", "2d"):
        model = trained_like(ModelConfig(conv=conv))
        folded = fold_batchnorm(model)
        assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)) for m in folded.modules())
        stack, focus = torch.rand(1, 5, 3, 40, 36), torch.linspace(-2.5, 2.5, 5)[None]
        with torch.inference_mode():
            expected, got = model(stack, focus), folded(stack, focus)
        torch.testing.assert_close(got["depth"], expected["depth"], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(got["aif"], expected["aif"], atol=1e-4, rtol=1e-4)


def test_channels_last_keeps_outputs():
    model = trained_like(ModelConfig(conv="3d"))
    fast = to_channels_last(fold_batchnorm(model))
    stack, focus = torch.rand(1, 4, 3, 32, 32), torch.linspace(0, 1, 4)[None]
    with torch.inference_mode():
        torch.testing.assert_close(fast(stack, focus)["depth"], model(stack, focus)["depth"], atol=1e-4, rtol=1e-4)
