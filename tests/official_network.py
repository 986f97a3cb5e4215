"""The official AiFDepthNet written down independently of `aifdepth.models`, for the import
tests: the keys and shapes of its state dict, checkpoints in its file format, and its forward
pass in plain torch.nn.functional calls on that state dict. Facts of the official network, in
our own words: a conv block is a biased convolution, a batch norm and a ReLU (keys `.conv3d.0`
and `.conv3d.1`); an upsampling block is a biased transposed convolution (kernel 3x4x4,
stride 1x2x2, zero padding 1), a batch norm, a ReLU and a 3x3x3 conv block (keys `.trans3d.0`,
`.trans3d.1`, `.trans3d.3.conv3d`); every padding is zeros."""

import torch
import torch.nn.functional as F

# Inception blocks: input channels, then 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 | pool -> 1x1 widths.
MIXED = {
    "3b": (192, (64, 96, 128, 16, 32, 32)),
    "3c": (256, (128, 128, 192, 32, 96, 64)),
    "4b": (480, (192, 96, 208, 16, 48, 64)),
    "4c": (512, (160, 112, 224, 24, 64, 64)),
    "4d": (512, (128, 128, 256, 24, 64, 64)),
    "4e": (512, (112, 144, 288, 32, 64, 64)),
    "4f": (528, (256, 160, 320, 32, 128, 128)),
    "5b": (832, (256, 160, 320, 32, 128, 128)),
    "5c": (832, (384, 192, 384, 48, 128, 128)),
}
# Decoder, deepest first: upsampling block (in, transposed out, conv out) and skip projection (in, out).
DECODER = [
    ("up_5c", (1024, 64, 64), "up_4f", (832, 64)),
    ("up_5c4f", (128, 64, 64), "up_3c", (480, 64)),
    ("up_5c4f3c", (128, 32, 32), "up_2c", (192, 32)),
    ("up_5c4f3c2c", (64, 32, 16), "up_1a", (64, 16)),
]


def _norm(prefix, channels):
    shapes = {f"{prefix}.{key}": (channels,) for key in ("weight", "bias", "running_mean", "running_var")}
    return {**shapes, f"{prefix}.num_batches_tracked": ()}


def _conv_block(prefix, c_in, c_out, k):
    return {f"{prefix}.0.weight": (c_out, c_in, k, k, k), f"{prefix}.0.bias": (c_out,), **_norm(f"{prefix}.1", c_out)}


def manifest(n_channels=3, n_classes=1, n_stack=10, stage2="attention") -> dict:
    """Official key (without `module.`) -> shape."""
    shapes = {}
    shapes.update(_conv_block("conv3d_1a.conv3d", n_channels, 64, 7))
    shapes.update(_conv_block("conv3d_2b.conv3d", 64, 64, 1))
    shapes.update(_conv_block("conv3d_2c.conv3d", 64, 192, 3))
    for name, (c_in, (b0, b1a, b1b, b2a, b2b, b3)) in MIXED.items():
        p = f"Mixed_{name}"
        shapes.update(_conv_block(f"{p}.branch0.conv3d", c_in, b0, 1))
        shapes.update(_conv_block(f"{p}.branch1_0.conv3d", c_in, b1a, 1))
        shapes.update(_conv_block(f"{p}.branch1_1.conv3d", b1a, b1b, 3))
        shapes.update(_conv_block(f"{p}.branch2_0.conv3d", c_in, b2a, 1))
        shapes.update(_conv_block(f"{p}.branch2_1.conv3d", b2a, b2b, 3))
        shapes.update(_conv_block(f"{p}.branch3_1.conv3d", c_in, b3, 1))
    for up, (c_in, c_mid, c_out), skip, (s_in, s_out) in DECODER:
        shapes[f"{up}.trans3d.0.weight"] = (c_in, c_mid, 3, 4, 4)  # transposed: (in, out, kernel)
        shapes[f"{up}.trans3d.0.bias"] = (c_mid,)
        shapes.update(_norm(f"{up}.trans3d.1", c_mid))
        shapes.update(_conv_block(f"{up}.trans3d.3.conv3d", c_mid, c_out, 3))
        shapes.update(_conv_block(f"{skip}.conv3d", s_in, s_out, 1))
    shapes["final_up.weight"], shapes["final_up.bias"] = (32, 32, 3, 4, 4), (32,)
    shapes["out.weight"], shapes["out.bias"] = (n_classes, 32, 3, 3, 3), (n_classes,)
    if stage2 == "direct":
        shapes["d_out.weight"], shapes["d_out.bias"] = (1, n_stack, 1, 1), (1,)
        shapes["AiF_out.0.weight"], shapes["AiF_out.0.bias"] = (3, n_stack, 1, 1), (3,)
    return shapes


def random_state_dict(shapes: dict, seed: int = 0) -> dict:
    """Weights that keep activations near unit scale through the whole network, with batch-norm
    statistics and biases far enough from the identity that folding them wrongly shows."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(100)
        elif key.endswith("running_var") or key.endswith(".1.weight"):
            state[key] = 0.5 + torch.rand(shape, generator=g)
        elif key.endswith("bias") or key.endswith("running_mean"):
            state[key] = 0.3 * torch.randn(shape, generator=g)
        else:
            transposed = "trans3d.0" in key or key.startswith("final_up")
            # a transposed conv of stride 2x2 reaches each output from a quarter of its kernel
            fan_in = shape[0] * 12 if transposed else shape[1] * torch.tensor(shape[2:]).prod().item()
            state[key] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
    return state


def write_checkpoint(
    path, n_channels=3, n_classes=1, n_stack=10, stage2="attention", seed=0, legacy=False, **kwargs
) -> dict:
    """A checkpoint as the official code saves one: options, model description and the
    DataParallel state dict; `legacy`: in the file format of PyTorch before 1.6 (the official
    environment's 1.5.1). Returns the state dict without the prefix."""
    state = random_state_dict(manifest(n_channels, n_classes, n_stack, stage2), seed)
    model_kwargs = {"n_channels": n_channels, "n_classes": n_classes, "n_stack": n_stack, "stage2": stage2, **kwargs}
    torch.save(
        {
            "args_dict": {"device": torch.device("cpu"), "stack_num": n_stack, "lr": 1e-4},
            "args_model": {"model_setting": {"model": "models.AiFDepthNet.AiFDepthNet"}, "model_kwargs": model_kwargs},
            "state_dict": {f"module.{k}": v for k, v in state.items()},
        },
        path,
        _use_new_zipfile_serialization=not legacy,
    )
    return state


def _block(x, state, prefix, stride=(1, 1, 1), padding=0, transposed=False):
    weight, bias = state[f"{prefix}.0.weight"], state[f"{prefix}.0.bias"]
    if transposed:
        x = F.conv_transpose3d(x, weight, bias, stride=(1, 2, 2), padding=1)
    else:
        x = F.conv3d(x, weight, bias, stride=stride, padding=padding)
    norm = [state[f"{prefix}.1.{k}"] for k in ("running_mean", "running_var", "weight", "bias")]
    return F.relu(F.batch_norm(x, *norm, training=False, eps=1e-5))


def _mixed(x, state, name):
    p = f"Mixed_{name}"
    return torch.cat(
        [
            _block(x, state, f"{p}.branch0.conv3d"),
            _block(_block(x, state, f"{p}.branch1_0.conv3d"), state, f"{p}.branch1_1.conv3d", padding=1),
            _block(_block(x, state, f"{p}.branch2_0.conv3d"), state, f"{p}.branch2_1.conv3d", padding=1),
            _block(F.max_pool3d(x, 3, stride=1, padding=1), state, f"{p}.branch3_1.conv3d"),
        ],
        dim=1,
    )


def _normalise(scores, softplus):
    if softplus:
        positive = F.softplus(scores)
        return positive / positive.sum(dim=1, keepdim=True)
    return torch.softmax(scores, dim=1)


def forward(state, stack, focus, n_classes=1, normalize_attention=False, stage2="attention", n_channels=3):
    """The official network on `stack` (B, C, S, H, W), H and W multiples of 32, and `focus` (B, S):
    depth (B, H, W) and AiF (B, 3, H, W)."""
    b, _, s, h, w = stack.shape
    x = stack
    if n_channels == 4:
        index = (torch.arange(1, s + 1, dtype=stack.dtype) / s).view(1, 1, s, 1, 1).expand(b, 1, s, h, w)
        x = torch.cat([stack, index], dim=1)
    pool = {"kernel_size": (1, 3, 3), "stride": (1, 2, 2), "padding": (0, 1, 1)}
    conv1a = _block(x, state, "conv3d_1a.conv3d", stride=(1, 2, 2), padding=3)
    conv2c = _block(
        _block(F.max_pool3d(conv1a, **pool), state, "conv3d_2b.conv3d"), state, "conv3d_2c.conv3d", padding=1
    )
    mix3c = _mixed(_mixed(F.max_pool3d(conv2c, **pool), state, "3b"), state, "3c")
    mix4 = F.max_pool3d(mix3c, **pool)
    for name in ("4b", "4c", "4d", "4e", "4f"):
        mix4 = _mixed(mix4, state, name)
    mix5c = _mixed(_mixed(F.max_pool3d(mix4, (1, 2, 2), stride=(1, 2, 2)), state, "5b"), state, "5c")
    y = mix5c
    for (up, _, skip, _), skip_input in zip(DECODER, (mix4, mix3c, conv2c, conv1a)):
        upsampled = _block(
            _block(y, state, f"{up}.trans3d", transposed=True), state, f"{up}.trans3d.3.conv3d", padding=1
        )
        y = torch.cat([upsampled, _block(skip_input, state, f"{skip}.conv3d")], dim=1)
    y = F.conv_transpose3d(y, state["final_up.weight"], state["final_up.bias"], stride=(1, 2, 2), padding=1)
    out = F.conv3d(y, state["out.weight"], state["out.bias"], padding=1)  # (B, n_classes, S, H, W)
    if stage2 == "direct":
        depth = F.conv2d(out[:, 0], state["d_out.weight"], state["d_out.bias"])[:, 0]
        aif = torch.sigmoid(F.conv2d(out[:, -1], state["AiF_out.0.weight"], state["AiF_out.0.bias"]))
        return depth, aif
    depth_attention = _normalise(out[:, 0], normalize_attention)
    # Two heads normalise alike; one shared head always gives the AiF a softmax.
    aif_attention = _normalise(out[:, 1], normalize_attention) if n_classes == 2 else torch.softmax(out[:, 0], dim=1)
    depth = (depth_attention * focus[:, :, None, None]).sum(dim=1)
    aif = (aif_attention[:, None] * stack[:, :3]).sum(dim=2)
    return depth, aif
