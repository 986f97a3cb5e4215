"""Shift-and-add refocusing: physics of a textured plane, and the fast method against the reference."""

import itertools

import cv2
import numpy as np
import pytest
from scipy import ndimage

from aifdepth.render import refocus as refocus_module
from aifdepth.render.refocus import refocus, refocus_reference

GRID = 9
SIZE = 64
BORDER = 8  # views are resampled with reflected borders; compare the interior only


def smooth_texture(seed: int, size: int = SIZE, sigma: float = 2.0) -> np.ndarray:
    texture = ndimage.gaussian_filter(np.random.default_rng(seed).random((size, size, 3)), (sigma, sigma, 0))
    texture = (texture - texture.min()) / (texture.max() - texture.min())
    return (0.1 + 0.8 * texture).astype(np.float32)


def sample_view(image: np.ndarray, row_offset: float, col_offset: float, interpolation=cv2.INTER_CUBIC):
    """The view that shows image(r + row_offset, c + col_offset) at (r, c)."""
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float32)
    return cv2.remap(
        image,
        cols + np.float32(col_offset),
        rows + np.float32(row_offset),
        interpolation,
        borderMode=cv2.BORDER_REFLECT_101,
    )


def plane_light_field(texture: np.ndarray, disparity: float) -> np.ndarray:
    """A fronto-parallel plane: its point at (r, c) in the centre view is at (r - du d, c - dv d) in view (u, v)."""
    offsets = np.arange(GRID) - (GRID - 1) / 2
    return np.stack(
        [np.stack([sample_view(texture, du * disparity, dv * disparity) for dv in offsets]) for du in offsets]
    )


def interior(image: np.ndarray) -> np.ndarray:
    return image[..., BORDER:-BORDER, BORDER:-BORDER, :]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2))


def sharpness(image: np.ndarray) -> float:
    """Mean squared gradient of the interior: falls as the image blurs."""
    grey = interior(image).mean(axis=-1)
    return float(np.mean(np.diff(grey, axis=0) ** 2) + np.mean(np.diff(grey, axis=1) ** 2))


@pytest.fixture(scope="module")
def plane():
    texture = smooth_texture(seed=1)
    return texture, plane_light_field(texture, 0.8)


def test_refocus_at_the_plane_disparity_returns_the_centre_view(plane):
    texture, views = plane
    [stack] = refocus(views, [0.8])
    assert psnr(interior(stack), interior(texture)) >= 35


def test_sharpness_falls_as_focus_moves_away_from_the_plane(plane):
    _, views = plane
    stack = refocus(views, [0.8, 0.55, 0.3, -0.2, -1.2])
    scores = [sharpness(image) for image in stack]
    assert all(later < earlier for earlier, later in itertools.pairwise(scores)), scores
    assert scores[-1] < 0.25 * scores[0]


def test_sign_convention_positive_disparity_is_refocused_by_positive_shift():
    texture = smooth_texture(seed=2)
    views = plane_light_field(texture, 1.5)
    at_plane, mirrored = refocus(views, [1.5, -1.5])
    assert psnr(interior(at_plane), interior(texture)) >= 35
    assert psnr(interior(mirrored), interior(texture)) < 25
    assert sharpness(mirrored) < 0.3 * sharpness(at_plane)


def occluded_light_field(size: int = 48) -> np.ndarray:
    """Textured background at d = -0.6 behind a saturated white square and a black bar with hard edges."""
    background = smooth_texture(seed=3, size=size, sigma=1.5)
    offsets = np.arange(GRID) - (GRID - 1) / 2
    quarter = size // 4
    views = np.empty((GRID, GRID, size, size, 3), np.float32)
    for u, du in enumerate(offsets):
        for v, dv in enumerate(offsets):
            view = sample_view(background, du * -0.6, dv * -0.6, cv2.INTER_LINEAR)
            row, col = round(-du * 1.3), round(-dv * 1.3)
            view[quarter + row : 2 * quarter + row, quarter + col : 2 * quarter + col] = 1.0
            view[2 * quarter + 4 + row : 3 * quarter + row, quarter + col : 3 * quarter + col] = 0.0
            views[u, v] = view
    return views


@pytest.mark.parametrize("whole_view_ratio", [0.0, 0.5, 1e9], ids=["whole views", "either", "windows"])
def test_fast_refocus_matches_the_reference_on_saturated_hard_edges(whole_view_ratio, monkeypatch):
    """Both ways of correcting the clipping (whole shifted views, windows) give the reference."""
    monkeypatch.setattr(refocus_module, "_WHOLE_VIEW_RATIO", whole_view_ratio)
    views = occluded_light_field()
    disparities = [-1.63, -0.6, 0.27, 1.3, 1.81]
    fast = refocus(views, disparities)
    reference = refocus_reference(views, disparities)
    grey_levels = np.abs(fast - reference) * 255
    assert fast.shape == reference.shape == (5, 48, 48, 3)
    assert fast.dtype == np.float32 and fast.min() >= 0 and fast.max() <= 1
    assert np.mean(grey_levels <= 1) >= 0.999, np.mean(grey_levels <= 1)


def test_correction_windows_wrap_around_views_smaller_than_a_window(monkeypatch):
    """A 21x45 crop: windows cut at the view's edge, shifted across it and wrapped back. (Odd
    sizes: an even one has a Nyquist row or column, whose shift the reference's real part and
    the fast method's real FFT resolve differently, by up to a grey level on so small a view.)"""
    monkeypatch.setattr(refocus_module, "_WHOLE_VIEW_RATIO", 1e9)
    views = np.ascontiguousarray(occluded_light_field()[:, :, 10:31, 2:47])
    disparities = [-1.63, 0.27, 1.81]
    grey_levels = np.abs(refocus(views, disparities) - refocus_reference(views, disparities)) * 255
    assert np.mean(grey_levels <= 1) >= 0.999, np.mean(grey_levels <= 1)


def test_uint8_views_are_read_as_grey_levels(plane):
    _, views = plane
    quantised = np.round(views * 255).astype(np.uint8)
    np.testing.assert_allclose(refocus(quantised, [0.3]), refocus(quantised / np.float32(255), [0.3]), atol=1e-6)


@pytest.mark.parametrize(
    "views, disparities, message",
    [
        (np.zeros((9, 9, 8, 8)), [0.0], "shape"),
        (np.zeros((9, 9, 8, 8, 2)), [0.0], "shape"),
        (np.zeros((8, 9, 8, 8, 3)), [0.0], "odd"),
        (np.zeros((9, 9, 8, 8, 3)), [], "non-empty"),
        (np.zeros((9, 9, 8, 8, 3)), [[0.0, 1.0]], "1-D"),
        (np.zeros((9, 9, 8, 8, 3)), [0.0, np.nan], "finite"),
    ],
)
@pytest.mark.parametrize("method", [refocus, refocus_reference])
def test_bad_inputs_are_rejected(method, views, disparities, message):
    with pytest.raises(ValueError, match=message):
        method(views, disparities)
