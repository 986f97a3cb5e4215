"""Training losses of AiFDepthNet: L1 on depth (supervised), L1 on the all-in-focus image
(unsupervised) and edge-aware depth smoothness, mixed by the weights of a training run."""

import torch

LOSS_NAMES = ("supervised", "unsupervised", "smoothness")
EDGE_SCALE = 150.0  # an image step of 1/150 (1.7 grey levels) already cuts the smoothness weight to 1/e
CHARBONNIER_EPS = 1e-6
MISSING_AIF = "the unsupervised (AiF) loss needs a model with attention and GT AiF images"


def supervised_l1(depth_pred: torch.Tensor, depth_gt: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean |pred - GT| over the valid pixels of the whole batch. Non-finite GT is never
    scored, even if `valid` says so, and is replaced before subtracting so no NaN reaches
    the gradient; without any valid pixel the loss is a 0 that backward() still accepts."""
    valid = valid & torch.isfinite(depth_gt)
    known_gt = torch.where(valid, depth_gt, torch.zeros_like(depth_gt))
    errors = torch.where(valid, (depth_pred - known_gt).abs(), torch.zeros_like(depth_pred))
    return errors.sum() / valid.sum().clamp(min=1)


def aif_l1(aif_pred: torch.Tensor, aif_gt: torch.Tensor) -> torch.Tensor:
    """Mean |pred - GT| of all-in-focus images (B,3,H,W) in [0,1]."""
    return (aif_pred - aif_gt).abs().mean()


def _charbonnier(values: torch.Tensor) -> torch.Tensor:
    """A differentiable |t|: smooth at 0, where the plain absolute value has no gradient."""
    return torch.sqrt(values * values + CHARBONNIER_EPS)


def _edge_weight(image_difference: torch.Tensor) -> torch.Tensor:
    return torch.exp(-((EDGE_SCALE * image_difference) ** 2).mean(dim=1))


def edge_aware_smoothness(depth: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Charbonnier penalty on forward depth differences, relaxed where the guide image
    (B,3,H,W) in [0,1] has an edge, so depth may jump where the scene visibly does. The
    image is detached: it guides the depth and must not learn to grow edges that excuse
    rough depth."""
    if depth.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"smoothness: depth {tuple(depth.shape)} and guide image {tuple(image.shape)} differ in size")
    image = image.detach()
    weight_x = _edge_weight(image[..., :, 1:] - image[..., :, :-1])
    weight_y = _edge_weight(image[..., 1:, :] - image[..., :-1, :])
    penalty_x = _charbonnier(depth[..., :, 1:] - depth[..., :, :-1])
    penalty_y = _charbonnier(depth[..., 1:, :] - depth[..., :-1, :])
    return 0.5 * ((weight_y * penalty_y).mean() + (weight_x * penalty_x).mean())


def _active_weights(weights: dict) -> dict[str, float]:
    unknown = sorted(set(weights) - set(LOSS_NAMES))
    if unknown:
        raise ValueError(f"unknown loss weight(s) {unknown}; the losses are {list(LOSS_NAMES)}")
    negative = {name: value for name, value in weights.items() if value < 0}
    if negative:
        raise ValueError(f"loss weights must be >= 0 (0 = off), got {negative}")
    active = {name: float(weights.get(name, 0.0)) for name in LOSS_NAMES if weights.get(name, 0.0) > 0}
    if not active:
        raise ValueError(f"all loss weights are 0 ({weights}): at least one must be > 0 to train")
    return active


def total_loss(outputs: dict, batch: dict, weights: dict) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the losses with weight > 0, and their values for the training log.
    A weight missing from `weights` counts as 0; a weight > 0 whose data the model or the
    batch lacks is an error rather than a silently dropped term."""
    active = _active_weights(weights)
    terms = {}
    if "supervised" in active:
        if batch.get("depth") is None:
            raise ValueError("the supervised loss needs GT depth ('depth') in the batch")
        valid = torch.isfinite(batch["depth"])
        if batch.get("valid") is not None:
            valid = valid & batch["valid"]
        terms["supervised"] = supervised_l1(outputs["depth"], batch["depth"], valid)
    if "unsupervised" in active:
        if outputs.get("aif") is None:
            raise ValueError(f"{MISSING_AIF}: this model returns no AiF image")
        if batch.get("aif") is None:
            raise ValueError(f"{MISSING_AIF}: this batch has no GT AiF ('aif')")
        terms["unsupervised"] = aif_l1(outputs["aif"], batch["aif"])
    if "smoothness" in active:
        if batch.get("image") is None:
            raise ValueError("the smoothness loss needs a guide image ('image') in the batch")
        terms["smoothness"] = edge_aware_smoothness(outputs["depth"], batch["image"])
    total = sum(active[name] * term for name, term in terms.items())
    return total, {name: term.item() for name, term in terms.items()}
