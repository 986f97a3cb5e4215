"""Evaluation metrics against values worked out by hand on tiny arrays."""

import math

import numpy as np
import pytest
import skimage.filters as skf
from scipy import ndimage

from aifdepth.metrics import aggregate, image_metrics, psnr, ssim, valid_mask

ALL = np.ones((2, 2), bool)


def test_error_metrics_by_hand():
    pred = np.array([[1.0, 2.0], [3.0, 4.5]])
    gt = np.array([[1.5, 2.0], [2.0, 4.0]])
    # errors p - g: -0.5, 0, 1, 0.5
    metrics = image_metrics(pred, gt, ALL)
    assert metrics["count"] == 4
    assert metrics["mae"] == pytest.approx((0.5 + 0 + 1 + 0.5) / 4)  # 0.5
    assert metrics["mse"] == pytest.approx((0.25 + 0 + 1 + 0.25) / 4)  # 0.375
    assert metrics["rmse"] == pytest.approx(math.sqrt(0.375))
    assert metrics["abs_rel"] == pytest.approx((0.5 / 1.5 + 0 / 2 + 1 / 2 + 0.5 / 4) / 4)
    assert metrics["sqr_rel"] == pytest.approx((0.25 / 1.5 + 0 / 2 + 1 / 2 + 0.25 / 4) / 4)
    log_errors = [math.log(1 / 1.5), math.log(2 / 2), math.log(3 / 2), math.log(4.5 / 4)]
    assert metrics["log_rmse"] == pytest.approx(math.sqrt(sum(e * e for e in log_errors) / 4))
    # ratios max(p/g, g/p): 1.5, 1, 1.5, 1.125 -> only 1 and 1.125 under 1.25; all under 1.5625
    assert metrics["delta1"] == pytest.approx(50.0)
    assert metrics["delta2"] == metrics["delta3"] == pytest.approx(100.0)
    assert metrics["badpix"] == pytest.approx(3 / 4)


def test_only_masked_pixels_count():
    pred = np.array([[1.0, 99.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, np.nan]])
    gt = np.array([[2.0, np.nan, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    mask = np.isfinite(gt) & np.isfinite(pred)
    metrics = image_metrics(pred, gt, mask)
    assert metrics["count"] == 7
    assert metrics["mae"] == pytest.approx(1 / 7)
    assert metrics["mse"] == pytest.approx(1 / 7)


def test_rmse_is_averaged_per_image_not_rooted_from_mean_mse():
    gt = np.full((2, 2), 3.0)
    exact = image_metrics(gt, gt, ALL)  # RMSE 0, MSE 0
    off_by_two = image_metrics(gt + 2.0, gt, ALL)  # RMSE 2, MSE 4
    summary = aggregate([exact, off_by_two])
    assert summary["rmse"] == pytest.approx((0 + 2) / 2)  # 1, not sqrt((0 + 4) / 2) = 1.414
    assert summary["mse"] == pytest.approx((0 + 4) / 2)
    assert summary["rmse"] != pytest.approx(math.sqrt(summary["mse"]))


def test_badpix_threshold():
    gt = np.ones((2, 2))
    pred = np.array([[1.069, 1.071], [1.0, 1.0 - 0.0701]])  # |errors| 0.069, 0.071, 0, 0.0701
    assert image_metrics(pred, gt, ALL)["badpix"] == pytest.approx(2 / 4)


def test_delta_thresholds():
    gt = np.ones((2, 3))
    # ratios 1.249 | 1.251 (g/p) | 1.5624 || 1.5626 | 1.953 | 1.9532 against 1.25, 1.5625, 1.953125
    pred = np.array([[1.249, 1 / 1.251, 1.5624], [1.5626, 1.953, 1.9532]])
    metrics = image_metrics(pred, gt, np.ones((2, 3), bool))
    assert metrics["delta1"] == pytest.approx(100 * 1 / 6)
    assert metrics["delta2"] == pytest.approx(100 * 3 / 6)
    assert metrics["delta3"] == pytest.approx(100 * 5 / 6)


def test_non_positive_predictions_miss_deltas_and_skip_log_rmse():
    gt = np.ones((2, 2))
    pred = np.array([[math.e, 1.0], [-0.5, 0.0]])
    metrics = image_metrics(pred, gt, ALL)
    assert metrics["log_rmse"] == pytest.approx(math.sqrt((1**2 + 0**2) / 2))
    assert metrics["delta1"] == pytest.approx(100 * 1 / 4)


def test_ratio_metrics_are_nan_for_signed_disparity():
    gt = np.array([[-1.0, 0.5], [1.0, 2.0]])
    metrics = image_metrics(gt + 0.01, gt, ALL)
    for name in ("log_rmse", "delta1", "delta2", "delta3"):
        assert math.isnan(metrics[name])
    assert metrics["mae"] == pytest.approx(0.01)


@pytest.fixture
def grid():
    rows, cols = np.mgrid[0:12, 0:14].astype(np.float64)
    interior = np.zeros(rows.shape, bool)
    interior[2:-2, 2:-2] = True  # Scharr applied twice reaches 2 pixels into the reflected border
    return rows, cols, interior


def test_bumpiness_of_constant_and_planar_errors_is_zero(grid):
    rows, cols, interior = grid
    gt = np.sin(cols / 3) + rows / 7
    assert image_metrics(gt + 0.4, gt, np.ones(gt.shape, bool))["bumpiness"] == pytest.approx(0, abs=1e-12)
    plane = gt + 0.3 * cols - 0.2 * rows + 1.0
    assert image_metrics(plane, gt, interior)["bumpiness"] == pytest.approx(0, abs=1e-12)


def test_bumpiness_is_four_times_the_hessian_norm_in_percent_capped_at_5(grid):
    """scikit-image's Scharr derivative has a gain of 2, so each second derivative is 4x the
    true one, as in the benchmark's toolkit."""
    rows, cols, interior = grid
    gt = np.zeros(rows.shape)
    # p - g = a x^2 / 2: dxx = 4a, the other three terms 0; shown as 100 * 4a
    assert image_metrics(0.01 * cols**2 / 2, gt, interior)["bumpiness"] == pytest.approx(4.0)
    # p - g = a x y: dxy = dyx = 4a: sqrt(32 a^2)
    assert image_metrics(0.005 * cols * rows, gt, interior)["bumpiness"] == pytest.approx(100 * 0.005 * math.sqrt(32))
    assert image_metrics(3.0 * cols**2 / 2, gt, interior)["bumpiness"] == pytest.approx(0.05 * 100)


def toolkit_bumpiness(error, mask, scharr_h, scharr_v):
    """The 4D Light Field toolkit's formula, on scikit-image's own filters."""
    dx, dy = scharr_v(error), scharr_h(error)
    norm = np.sqrt(scharr_v(dx) ** 2 + scharr_h(dx) ** 2 + scharr_h(dy) ** 2 + scharr_v(dy) ** 2)
    return np.clip(norm, 0, 0.05)[mask].mean() * 100


def with_zeroed_border(edge_filter):
    """scikit-image 0.16's edge filters zeroed the outermost rows and columns of their result."""

    def filtered(image):
        result = edge_filter(image)
        result[[0, -1], :] = 0
        result[:, [0, -1]] = 0
        return result

    return filtered


def test_bumpiness_equals_scikit_image_and_its_0_16_variant():
    rng = np.random.default_rng(4)
    gt = rng.uniform(-2, 2, (37, 52))
    error = ndimage.gaussian_filter(rng.normal(0, 0.3, gt.shape), 2.0)
    mask = rng.random(gt.shape) < 0.6
    metrics = image_metrics(gt + error, gt, mask)
    assert metrics["bumpiness"] == pytest.approx(toolkit_bumpiness(error, mask, skf.scharr_h, skf.scharr_v), rel=1e-9)
    old = toolkit_bumpiness(error, mask, with_zeroed_border(skf.scharr_h), with_zeroed_border(skf.scharr_v))
    assert metrics["bumpiness_skimage016"] == pytest.approx(old, rel=1e-9)
    # the two differ only on the 2-pixel band along the image edge
    assert metrics["bumpiness_skimage016"] != pytest.approx(metrics["bumpiness"], rel=1e-3)
    inner = np.zeros(gt.shape, bool)
    inner[2:-2, 2:-2] = True
    inner_metrics = image_metrics(gt + error, gt, inner)
    assert inner_metrics["bumpiness_skimage016"] == pytest.approx(inner_metrics["bumpiness"], rel=1e-12)


def test_bumpiness_ignores_unknown_gt_next_to_the_mask(grid):
    rows, cols, _ = grid
    gt = rows + cols
    gt[4:8, 5:9] = np.nan
    mask = np.isfinite(gt)
    # the hole is filled from its neighbours, so a constant error stays flat up to the hole's edge
    assert image_metrics(gt + 0.5, gt, mask)["bumpiness"] == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize(
    "dataset, values, expected",
    [
        ("hci", [-2.5, 2.5, -2.5001, 2.5001, 0.0, np.nan, np.inf], [1, 1, 0, 0, 1, 0, 0]),
        ("ddff", [0.0202, 0.2825, 0.0201, 0.2826, 0.0, np.nan], [1, 1, 0, 0, 0, 0]),
        ("defocusnet", [0.1, 1.5, 0.0999, 1.5001, 2.5, -np.inf], [1, 1, 0, 0, 0, 0]),
        ("middlebury", [10.0, 60.0, 9.99, 60.01, np.inf, np.nan], [1, 1, 0, 0, 0, 0]),
        ("rgbd", [10.0, 60.0, 9.99, 60.01, np.inf, np.nan], [1, 1, 0, 0, 0, 0]),
        ("mobiledepth", [-100.0, 0.0, 1e6, np.nan, np.inf, -np.inf], [1, 1, 1, 0, 0, 0]),
        ("some_new_dataset", [-3.0, 3.0, np.nan], [1, 1, 0]),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_valid_mask(dataset, values, expected, dtype):
    mask = valid_mask(np.array(values, dtype), dataset)
    assert mask.dtype == bool
    assert mask.tolist() == [bool(e) for e in expected]


def metrics_with(count=4, **values):
    names = ("mae", "mse", "rmse", "abs_rel", "sqr_rel", "log_rmse", "badpix", "bumpiness")
    return {**dict.fromkeys(names, 0.0), **values, "count": count}


def test_aggregate_means_over_images_and_skips_empty_masks():
    summary = aggregate(
        [
            metrics_with(mae=1.0, log_rmse=math.nan),
            metrics_with(mae=3.0, log_rmse=0.5),
            metrics_with(count=0, mae=math.nan, log_rmse=math.nan),
        ]
    )
    assert summary["images"] == 2
    assert summary["count"] == 8
    assert summary["mae"] == pytest.approx(2.0)
    assert summary["log_rmse"] == pytest.approx(0.5)  # the NaN image is left out


def test_aggregate_keeps_a_metric_nan_for_every_image_nan():
    summary = aggregate([metrics_with(log_rmse=math.nan), metrics_with(log_rmse=math.nan)])
    assert math.isnan(summary["log_rmse"])


def test_aggregate_paper_sums():
    summary = aggregate([metrics_with(abs_rel=0.1115, sqr_rel=0.02) for _ in range(100)])
    assert summary["abs_rel"] == pytest.approx(0.1115)
    assert summary["abs_rel_paper_sum"] == pytest.approx(11.15)
    assert summary["sqr_rel_paper_sum"] == pytest.approx(2.0)
    assert summary["images"] == 100


def test_empty_mask_gives_nan_and_zero_count():
    metrics = image_metrics(np.ones((2, 2)), np.ones((2, 2)), np.zeros((2, 2), bool))
    assert metrics["count"] == 0
    assert math.isnan(metrics["mae"])


def test_psnr_of_known_errors():
    gt = np.full((4, 5, 3), 0.5)
    assert psnr(gt + 0.1, gt) == pytest.approx(20.0)  # 10 log10(1 / 0.1^2)
    uint8_gt = np.full((4, 5, 3), 100, np.uint8)
    assert psnr(uint8_gt + np.uint8(10), uint8_gt) == pytest.approx(20 * math.log10(255 / 10))
    assert psnr(gt, gt) == math.inf


def direct_ssim(pred, gt):
    """Wang et al. 2004 written out: one weighted 11x11 window at a time, windows inside the image."""
    offsets = np.arange(11) - 5
    gauss = np.exp(-(offsets**2) / (2 * 1.5**2))
    weights = np.outer(gauss, gauss) / np.outer(gauss, gauss).sum()
    c1, c2 = 0.01**2, 0.03**2
    scores = []
    for c in range(pred.shape[2]):
        for r in range(pred.shape[0] - 10):
            for q in range(pred.shape[1] - 10):
                x, y = pred[r : r + 11, q : q + 11, c], gt[r : r + 11, q : q + 11, c]
                mx, my = (weights * x).sum(), (weights * y).sum()
                vx, vy = (weights * (x - mx) ** 2).sum(), (weights * (y - my) ** 2).sum()
                cxy = (weights * (x - mx) * (y - my)).sum()
                scores.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return np.mean(scores)


def test_ssim_matches_a_direct_implementation(rng):
    gt = rng.random((14, 15, 3))
    pred = np.clip(gt + rng.normal(0, 0.1, gt.shape), 0, 1)
    assert ssim(pred, gt) == pytest.approx(direct_ssim(pred, gt), abs=1e-3)


def test_ssim_properties(rng):
    gt = (rng.random((16, 16, 3)) * 255).astype(np.uint8)
    assert ssim(gt, gt) == pytest.approx(1.0)
    slightly = np.clip(gt + rng.normal(0, 5, gt.shape), 0, 255).astype(np.uint8)
    heavily = np.clip(gt + rng.normal(0, 40, gt.shape), 0, 255).astype(np.uint8)
    assert 1.0 > ssim(slightly, gt) > ssim(heavily, gt)
    assert ssim(slightly, gt) == pytest.approx(ssim(slightly / 255.0, gt / 255.0))
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(gt[:8], gt[:8])
