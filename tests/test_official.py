"""The authors' checkpoints in our harness: `aifdepth import-official` against an independent
description of the official network (tests/official_network.py), the arithmetic pieces by hand,
and every bad checkpoint stopped with a message that names the file and the key."""

import os
import zipfile

import numpy as np
import pytest
import torch
from official_network import forward, manifest, write_checkpoint
from test_download import LocalServer
from torch import nn

from aifdepth.cli import main
from aifdepth.errors import InputError
from aifdepth.evaluate import predict_sample, predictor
from aifdepth.io.images import write_rgb
from aifdepth.modelfile import load_model
from aifdepth.models.blocks import Layers
from aifdepth.official import MobileDepthProtocol, fold_bias, import_official


def test_a_bias_folded_into_the_batch_norm_gives_the_output_of_bias_then_batch_norm():
    norm = nn.BatchNorm1d(1).eval()
    norm.running_mean.fill_(1.0)
    norm.running_var.fill_(4.0 - norm.eps)
    norm.weight.data.fill_(2.0)
    norm.bias.data.fill_(0.1)
    y, bias = torch.tensor([[3.0], [0.5]]), torch.tensor([0.5])
    # by hand: 2 * (3 + 0.5 - 1) / 2 + 0.1 = 2.6 and 2 * (0.5 + 0.5 - 1) / 2 + 0.1 = 0.1
    expected = torch.tensor([[2.6], [0.1]])
    torch.testing.assert_close(norm(y + bias), expected)
    norm.running_mean.copy_(fold_bias(bias, norm.running_mean))
    torch.testing.assert_close(norm(y), expected)


def test_the_official_convolutions_pad_with_zeros_ours_replicate():
    ones = torch.ones(1, 1, 4, 4, 4)
    corner = {}
    for official in (False, True):
        conv = Layers(3, official=official).conv(1, 1, kernel=3)[0]
        nn.init.ones_(conv.weight)
        out = conv(ones)
        corner[official] = out[0, 0, 0, 0, 0].item()
        assert out[0, 0, 1, 1, 1].item() == 27  # inside, all 27 taps see a 1
    # at a corner, zero padding leaves the 2 x 2 x 2 taps inside; replicate sees 27 ones
    assert corner == {True: 8.0, False: 27.0}


CASES = {
    "shared softmax": {},
    "shared softmax, in the file format of PyTorch 1.5": {"legacy": True},
    "shared softplus": {"normalize_attention": True},
    "separate softplus, slice-index channel, disparity": {
        "n_classes": 2,
        "normalize_attention": True,
        "n_channels": 4,
        "disp_depth": "disp",
    },
    "direct, separate": {"stage2": "direct", "n_classes": 2},
}


@pytest.mark.parametrize("case", CASES)
def test_an_imported_checkpoint_gives_the_official_networks_depth_and_aif(tmp_path, case):
    kwargs = {"n_stack": 5, **CASES[case]}
    state = write_checkpoint(tmp_path / "official.pth", seed=3, **kwargs)
    import_official(tmp_path / "official.pth", tmp_path / "model.pt")
    model, config, _ = load_model(tmp_path / "model.pt")
    assert config.arithmetic == "official" and config.width == "paper"
    stack = torch.rand(1, 5, 3, 40, 56, generator=torch.Generator().manual_seed(1))
    focus = torch.tensor([[1.5, 0.7, 0.3, 0.15, 0.1]])  # far to near, as DDFF's: read in the order given
    with torch.no_grad():
        ours = model(stack, focus)
        # the official test code pads the bottom and right with zeros to a multiple of 32, and crops back
        padded = torch.nn.functional.pad(stack, (0, 8, 0, 24))
        depth, aif = forward(
            state,
            padded.transpose(1, 2),
            focus,
            n_classes=kwargs.get("n_classes", 1),
            normalize_attention=kwargs.get("normalize_attention", False),
            stage2=kwargs.get("stage2", "attention"),
            n_channels=kwargs.get("n_channels", 3),
        )
    depth, aif = depth[:, :40, :56], aif[..., :40, :56]
    assert depth.std() > 0.05  # the check means something only if the depth varies
    focus_range = (focus.max() - focus.min()).item()
    assert (ours["depth"] - depth).abs().max().item() <= 1e-4 * focus_range
    assert (ours["aif"] - aif).abs().max().item() <= 1e-4


def test_import_official_says_what_it_recognised(tmp_path, capsys):
    write_checkpoint(tmp_path / "official.pth", n_classes=2, n_stack=7, normalize_attention=True, disp_depth="disp")
    assert main(["import-official", str(tmp_path / "official.pth"), "--out", str(tmp_path / "model.pt")]) == 0
    said = capsys.readouterr().out
    for words in ("attention with separate depth and AiF heads", "softplus normalisation", "7 slices", "disparity"):
        assert words in said
    # the official default camera: baseline 0.00027087 x focal length 521.4052 / depth 0.1 and 3 m
    assert "[1.412, " in said and ", 0.04708]" in said
    _, config, info = load_model(tmp_path / "model.pt")
    assert (config.attention_mode, config.depth_normalisation, info["unit"]) == ("separate", "softplus", "disparity")


@pytest.mark.parametrize("legacy", [False, True], ids=["zip format", "PyTorch 1.5 format"])
def test_a_checkpoint_that_needs_more_than_plain_types_is_refused_and_never_run(tmp_path, legacy):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    path = tmp_path / "official.pth"
    torch.save(
        {"args_dict": {"hook": Payload()}, "args_model": {}, "state_dict": {}},
        path,
        _use_new_zipfile_serialization=not legacy,
    )
    with pytest.raises(InputError, match=r"official\.pth: this checkpoint needs more than plain types .*mkdir"):
        import_official(path, tmp_path / "model.pt")
    assert not marker.exists()


def _import_error(tmp_path, edit=None, **kwargs) -> str:
    path = tmp_path / "official.pth"
    write_checkpoint(path, **kwargs)
    if edit is not None:
        payload = torch.load(path, weights_only=True)
        edit(payload)
        torch.save(payload, path)
    with pytest.raises(InputError) as err:
        import_official(path, tmp_path / "model.pt")
    assert not (tmp_path / "model.pt").exists()
    return str(err.value)


def test_a_truncated_checkpoint_is_named(tmp_path):
    path = tmp_path / "official.pth"
    write_checkpoint(path)
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(InputError, match=r"official\.pth: corrupt or truncated checkpoint"):
        import_official(path, tmp_path / "model.pt")


def test_a_checkpoint_of_another_network_is_named(tmp_path):
    def rename(payload):
        payload["args_model"]["model_setting"]["model"] = "models.DefocusNet.DefocusNet"

    assert "models.DefocusNet.DefocusNet" in _import_error(tmp_path, rename)


def test_an_unknown_key_is_named(tmp_path):
    def extra(payload):
        payload["state_dict"]["module.extra_head.weight"] = torch.zeros(1)

    assert "'extra_head.weight'" in _import_error(tmp_path, extra)


def test_a_missing_key_is_named(tmp_path):
    def drop(payload):
        del payload["state_dict"]["module.Mixed_4d.branch2_1.conv3d.1.running_var"]

    assert "has no 'Mixed_4d.branch2_1.conv3d.1.running_var'" in _import_error(tmp_path, drop)


def test_a_wrong_shape_is_named(tmp_path):
    def widen(payload):
        payload["state_dict"]["module.up_3c.conv3d.0.weight"] = torch.zeros(64, 481, 1, 1, 1)

    said = _import_error(tmp_path, widen)
    assert "state_dict['up_3c.conv3d.0.weight'] has shape (64, 481, 1, 1, 1)" in said
    assert "(64, 480, 1, 1, 1)" in said


def test_the_manifest_is_the_whole_imported_network(tmp_path):
    """Every parameter and statistic of our official-arithmetic network comes from the checkpoint:
    as many values as the official network has, less the biases folded into batch norms."""
    state = write_checkpoint(tmp_path / "official.pth", stage2="direct", n_stack=4)
    import_official(tmp_path / "official.pth", tmp_path / "model.pt")
    ours = torch.load(tmp_path / "model.pt", weights_only=True)["state_dict"]
    folded = sum(
        v.numel() for k, v in state.items() if k.endswith(".0.bias") and k.replace(".0.bias", ".1.weight") in state
    )
    assert sum(v.numel() for v in ours.values()) == sum(v.numel() for v in state.values()) - folded
    assert len(manifest(stage2="direct", n_stack=4)) == len(state)


def test_a_direct_checkpoint_refuses_another_stack_size(tmp_path, capsys):
    write_checkpoint(tmp_path / "official.pth", stage2="direct", n_stack=5)
    import_official(tmp_path / "official.pth", tmp_path / "model.pt")
    images = []
    for k in range(6):
        images.append(tmp_path / f"slice{k}.png")
        write_rgb(images[-1], np.full((32, 32, 3), 40 * k, np.uint8))
    focus = [str(0.1 * (k + 1)) for k in range(6)]
    argv = ["predict", *map(str, images), "--focus", *focus, "--model", str(tmp_path / "model.pt")]
    assert main([*argv, "--out", str(tmp_path / "pred")]) == 2
    said = capsys.readouterr().err
    assert f"{tmp_path / 'model.pt'}: model.stack_size is 5" in said and "has 6" in said


def test_the_authors_archive_is_downloaded_and_its_checkpoints_imported_from_it(tmp_path, capsys):
    write_checkpoint(tmp_path / "DDFF.pth", n_stack=10, disp_depth="disp")
    archive = tmp_path / "ckpt.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tmp_path / "DDFF.pth", "ckpt/DDFF.pth")
    server = LocalServer()
    server.thread.start()
    try:
        url = server.add("/mirror/ckpt.zip", body=archive.read_bytes())
        out, checksums = tmp_path / "downloads" / "ckpt.zip", tmp_path / "checksums.sha256"
        argv = ["download-checkpoints", "--out", str(out), "--checksums", str(checksums)]
        assert main([*argv, "--mirror", url.removesuffix("ckpt.zip")]) == 0
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    assert out.read_bytes() == archive.read_bytes() and "checkpoints/ckpt.zip" in checksums.read_text()
    model = tmp_path / "model.pt"
    assert main(["import-official", str(out), "--member", "ckpt/DDFF.pth", "--out", str(model)]) == 0
    assert f"{out}:ckpt/DDFF.pth: official AiFDepthNet" in capsys.readouterr().out
    assert load_model(model)[1].arithmetic == "official"
    assert main(["import-official", str(out), "--member", "DDFF.pth", "--out", str(model)]) == 2
    assert "no 'DDFF.pth' inside; its checkpoints: ['ckpt/DDFF.pth']" in capsys.readouterr().err


def test_the_official_mobile_depth_protocol_sorts_keeps_every_step_th_and_feeds_ranks():
    focus = np.array([0.9, 0.1, 0.5, 0.3, 0.7] * 5) + np.repeat(np.arange(5) * 0.01, 5)  # 25 frames, shuffled
    protocol = MobileDepthProtocol(focus)
    order = np.argsort(focus)
    # 25 // 10 = 2: every second frame of the sorted sweep, fed at ranks 1/25, 3/25, ..., 25/25
    np.testing.assert_array_equal(protocol.indices, order[::2])
    np.testing.assert_allclose(protocol.positions, np.arange(1, 26, 2) / 25, rtol=1e-6)
    # depth 0.5 in rank units lies halfway between the 12th and 13th nearest frames
    np.testing.assert_allclose(protocol.to_focus(np.array([0.5])), [(focus[order[11]] + focus[order[12]]) / 2])
    # fewer than 10 frames: all of them, in focus order
    np.testing.assert_array_equal(MobileDepthProtocol(np.array([3.0, 1.0, 2.0])).indices, [1, 2, 0])


def test_an_official_model_sees_mobile_depth_as_the_official_test_code_fed_it(tmp_path):
    state = write_checkpoint(tmp_path / "official.pth", seed=4, n_stack=10)
    import_official(tmp_path / "official.pth", tmp_path / "model.pt")
    model, config, _ = load_model(tmp_path / "model.pt")
    focus = np.linspace(2.0, 0.1, 21)  # an autofocus sweep, far to near, as the frames were taken
    stack = (np.random.default_rng(5).random((21, 40, 56, 3)) * 255).astype(np.uint8)
    outputs, _, _ = predictor(config, "mobiledepth")(model, stack, focus.astype(np.float32), "cpu")
    # by hand: every second frame nearest first, at ranks k / 21, zero-padded to 64x64; depth back in focal depths
    kept = np.argsort(focus)[::2]
    ranks = np.arange(1, 22, 2) / 21
    padded = torch.nn.functional.pad(torch.from_numpy(stack[kept] / 255).float().permute(3, 0, 1, 2), (0, 8, 0, 24))
    with torch.no_grad():
        depth, _ = forward(state, padded[None], torch.tensor(ranks[None], dtype=torch.float32))
    expected = np.interp(depth[0, :40, :56].numpy(), np.arange(1, 22) / 21, np.sort(focus))
    assert expected.std() > 0.01
    np.testing.assert_allclose(outputs["depth"], expected, atol=1e-4 * (focus.max() - focus.min()))
    # other datasets, and our own models, take the stack as it is
    assert predictor(config, "hci") is predict_sample
