"""The paper's evaluation metrics: depth errors per image on the dataset's validity mask,
averaged over images as the paper does, and PSNR/SSIM of all-in-focus images."""

import math

import cv2
import numpy as np
from scipy import ndimage

from .datasets.spec import SPECS

BADPIX_THRESHOLD = 0.07
BUMPINESS_CLIP = 0.05
BUMPINESS_SCALE = 100.0
# scikit-image's scharr_h / scharr_v, which the 4D Light Field benchmark and the official code
# call: a central difference f(i+1) - f(i-1) (a gain of 2 on a ramp of slope 1) across a
# [3, 10, 3] / 16 smoothing, borders reflected (scipy's "reflect": the edge pixel repeats).
SCHARR_DIFFERENCE = np.array([1.0, 0.0, -1.0])
SCHARR_SMOOTHING = np.array([3.0, 10.0, 3.0]) / 16.0
DELTA_BASE = 1.25
PAPER_SUM_METRICS = ("abs_rel", "sqr_rel")
RATIO_METRICS = ("log_rmse", "delta1", "delta2", "delta3")
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def valid_mask(gt, dataset: str) -> np.ndarray:
    """Pixels the paper scores: finite GT inside the mask range of the dataset's spec (bounds
    included, compared in the GT's own precision). The extra tests g > 0 (DDFF) and
    0 < g <= 2 (DefocusNet) of their protocols still hold if a spec's range is edited. A spec's
    `scored_as` (rgbd: middlebury) lends it another's range; a dataset without a range (e.g.
    'mobiledepth') or a name without a spec only drops non-finite GT."""
    gt = np.asarray(gt)
    mask = np.isfinite(gt)
    own = SPECS.get(dataset)
    scored = SPECS[own.scored_as] if own is not None and own.scored_as else own
    bounds = scored.mask if scored is not None else None
    if bounds is not None:
        low, high = bounds
        mask &= (gt >= low) & (gt <= high)
    if dataset == "ddff":
        mask &= gt > 0
    elif dataset == "defocusnet":
        mask &= (gt > 0) & (gt <= 2)
    return mask


def scharr(image: np.ndarray, axis: int, zero_border: bool = False) -> np.ndarray:
    """scikit-image's scharr_h (axis 0) or scharr_v (axis 1) of a 2D image. scikit-image up to
    0.18 (the official environment pins 0.16.2) also set the outermost rows and columns of every
    result to 0: `zero_border` does that."""
    derivative = ndimage.convolve1d(image, SCHARR_DIFFERENCE, axis=axis, mode="reflect")
    derivative = ndimage.convolve1d(derivative, SCHARR_SMOOTHING, axis=1 - axis, mode="reflect")
    if zero_border:
        derivative[[0, -1], :] = 0.0
        derivative[:, [0, -1]] = 0.0
    return derivative


def _fill_unknown(error: np.ndarray) -> np.ndarray:
    """Non-finite errors (unknown GT) take the nearest finite value, so a hole adds no
    step for the derivatives to see."""
    known = np.isfinite(error)
    if known.all():
        return error
    nearest = ndimage.distance_transform_edt(~known, return_distances=False, return_indices=True)
    return error[tuple(nearest)]


def bumpiness(error: np.ndarray, mask: np.ndarray, zero_border: bool = False) -> float:
    """Mean over the mask of min(0.05, |H|) * 100, the 4D Light Field benchmark's measure of
    unevenness that a constant or planar error does not have, exactly as its toolkit and the
    official code compute it: |H| = sqrt(dxx^2 + dxy^2 + dyy^2 + dyx^2) from scikit-image's
    Scharr derivatives, whose gain of 2 makes |H| 4x the Hessian's Frobenius norm. Derivatives
    use the whole image, outside the mask too, and only unknown errors are filled (nearest
    known value); a plane's |H| is exactly 0 from 2 pixels inside the image edge.
    `zero_border`: scikit-image 0.16's variant (see `scharr`). `mask` must not be empty."""
    if not np.isfinite(error[mask]).all():
        return math.nan
    filled = _fill_unknown(error)
    dx, dy = scharr(filled, 1, zero_border), scharr(filled, 0, zero_border)
    second = [
        scharr(dx, 1, zero_border),
        scharr(dx, 0, zero_border),
        scharr(dy, 0, zero_border),
        scharr(dy, 1, zero_border),
    ]
    hessian_norm = np.sqrt(sum(term**2 for term in second))
    return float(np.minimum(BUMPINESS_CLIP, hessian_norm[mask]).mean() * BUMPINESS_SCALE)


def _ratio_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """log RMSE and the delta accuracies compare ratios, defined for positive depth or
    disparity only: they are NaN when the masked GT has values <= 0 (signed HCI disparity).
    A prediction <= 0 is left out of log RMSE (its log is undefined) and counts as a miss
    in the deltas."""
    if np.any(gt <= 0):
        return dict.fromkeys(RATIO_METRICS, math.nan)
    positive = pred > 0
    log_rmse = math.sqrt(np.mean((np.log(pred[positive]) - np.log(gt[positive])) ** 2)) if positive.any() else math.nan
    ratio = np.full(gt.shape, np.inf)
    ratio[positive] = np.maximum(pred[positive] / gt[positive], gt[positive] / pred[positive])
    deltas = {f"delta{i}": 100.0 * np.mean(ratio < DELTA_BASE**i) for i in (1, 2, 3)}
    return {"log_rmse": log_rmse, **deltas}


def image_metrics(pred, gt, mask) -> dict[str, float]:
    """Every depth metric of one image over its masked pixels; 'count' is their number
    and an empty mask gives NaN metrics (aggregate skips the image). absRel and sqrRel
    are inf where the mask holds GT = 0, which only signed disparity (HCI) can have."""
    pred, gt, mask = np.asarray(pred, np.float64), np.asarray(gt, np.float64), np.asarray(mask, bool)
    if not pred.shape == gt.shape == mask.shape:
        raise ValueError(f"prediction {pred.shape}, GT {gt.shape} and mask {mask.shape} differ in shape")
    count = int(mask.sum())
    names = ("mae", "mse", "rmse", "abs_rel", "sqr_rel", "badpix", "bumpiness", "bumpiness_skimage016", *RATIO_METRICS)
    if count == 0:
        return {**dict.fromkeys(names, math.nan), "count": 0}
    with np.errstate(invalid="ignore", divide="ignore"):
        error = pred - gt
        masked_error, masked_gt = error[mask], gt[mask]
        abs_error, squared_error = np.abs(masked_error), masked_error**2
        mse = float(np.mean(squared_error))
        metrics = {
            "mae": np.mean(abs_error),
            "mse": mse,
            "rmse": math.sqrt(mse),
            "abs_rel": np.mean(abs_error / np.abs(masked_gt)),
            "sqr_rel": np.mean(squared_error / np.abs(masked_gt)),
            "badpix": np.mean(abs_error > BADPIX_THRESHOLD),
            "bumpiness": bumpiness(error, mask),
            "bumpiness_skimage016": bumpiness(error, mask, zero_border=True),
            **_ratio_metrics(pred[mask], masked_gt),
        }
    return {**{name: float(metrics[name]) for name in names}, "count": count}


def _nan_safe(reduce, values: list[float]) -> float:
    known = [value for value in values if not math.isnan(value)]
    return float(reduce(known)) if known else math.nan


def aggregate(per_image: list[dict]) -> dict[str, float]:
    """Mean over the images with a non-empty mask of each metric (NaNs left out; NaN if no
    image has the metric): per-image RMSE is averaged, as in the paper, rather than the
    root of the mean MSE. 'abs_rel_paper_sum' and 'sqr_rel_paper_sum' are the sums over
    images that the official code reported as absRel/sqrRel (e.g. DefocusNet's 11.15 is
    100 images of 0.1115). 'count' is the total of scored pixels, 'images' of images."""
    scored = [metrics for metrics in per_image if metrics["count"] > 0]
    names = dict.fromkeys(name for metrics in per_image for name in metrics if name != "count")
    summary = {name: _nan_safe(np.mean, [metrics.get(name, math.nan) for metrics in scored]) for name in names}
    for name in PAPER_SUM_METRICS:
        summary[f"{name}_paper_sum"] = _nan_safe(np.sum, [metrics.get(name, math.nan) for metrics in scored])
    summary["count"] = sum(int(metrics["count"]) for metrics in scored)
    summary["images"] = len(scored)
    return summary


def _unit_float(image) -> np.ndarray:
    """uint8 images scaled to [0,1]; float images are taken to be in [0,1] already."""
    image = np.asarray(image)
    return image / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)


def _same_shape(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = _unit_float(pred), _unit_float(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"images differ in shape: {pred.shape} and {gt.shape}")
    return pred, gt


def psnr(pred, gt) -> float:
    """PSNR in dB with peak 1 on [0,1] data; inf for identical images."""
    pred, gt = _same_shape(pred, gt)
    mse = float(np.mean((pred - gt) ** 2))
    return 10.0 * math.log10(1.0 / mse) if mse > 0 else math.inf


def _ssim_channel(pred: np.ndarray, gt: np.ndarray) -> float:
    def local_mean(image):
        # Blur, then keep only the windows wholly inside the image, as Wang et al.'s code does.
        border = SSIM_WINDOW // 2
        return cv2.GaussianBlur(image, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA)[border:-border, border:-border]

    c1, c2 = SSIM_K1**2, SSIM_K2**2  # dynamic range 1
    mean_p, mean_g = local_mean(pred), local_mean(gt)
    var_p = local_mean(pred * pred) - mean_p**2
    var_g = local_mean(gt * gt) - mean_g**2
    cov = local_mean(pred * gt) - mean_p * mean_g
    ssim_map = ((2 * mean_p * mean_g + c1) * (2 * cov + c2)) / ((mean_p**2 + mean_g**2 + c1) * (var_p + var_g + c2))
    return float(ssim_map.mean())


def ssim(pred, gt) -> float:
    """SSIM of Wang et al. 2004 (Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03) on [0,1]
    data, averaged over the channels of (H,W,3) or a single (H,W) image."""
    pred, gt = _same_shape(pred, gt)
    if min(pred.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {pred.shape[:2]}")
    pred, gt = np.atleast_3d(pred), np.atleast_3d(gt)
    return float(np.mean([_ssim_channel(pred[..., c], gt[..., c]) for c in range(pred.shape[2])]))
