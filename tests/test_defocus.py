"""Layered defocus: focus, blur growth, occlusion edges, unknown depth and normalisation."""

import itertools

import numpy as np
import pytest
from scipy import ndimage

from aifdepth.render.defocus import defocus_stack

HEIGHT, WIDTH = 64, 96
NEAR, FAR = 8.0, 2.0
EDGE = WIDTH // 2  # columns < EDGE are the near plane, the rest the far plane
APERTURE = 1.0  # blur radius in pixels per unit of |disparity - focus|


def texture(seed: int = 0) -> np.ndarray:
    noise = ndimage.gaussian_filter(np.random.default_rng(seed).random((HEIGHT, WIDTH, 3)), (1, 1, 0))
    return ((noise - noise.min()) / (noise.max() - noise.min())).astype(np.float32)


def two_planes() -> np.ndarray:
    disparity = np.full((HEIGHT, WIDTH), FAR)
    disparity[:, :EDGE] = NEAR
    return disparity


def sharpness(image: np.ndarray) -> float:
    grey = image.mean(axis=-1)
    return float(np.mean(np.diff(grey, axis=0) ** 2) + np.mean(np.diff(grey, axis=1) ** 2))


def test_focused_foreground_is_unchanged_up_to_the_occlusion_edge():
    image = texture()
    [slice_] = defocus_stack(image, two_planes(), [NEAR], APERTURE)
    np.testing.assert_allclose(slice_[:, :EDGE], image[:, :EDGE], atol=1e-6)
    assert sharpness(slice_[:, EDGE + 1 :]) < 0.2 * sharpness(image[:, EDGE + 1 :])


def test_focused_background_is_unchanged_beyond_the_foreground_blur():
    image = texture()
    [slice_] = defocus_stack(image, two_planes(), [FAR], APERTURE)
    reach = int(np.ceil(APERTURE * (NEAR - FAR))) + 1
    np.testing.assert_allclose(slice_[:, EDGE + reach :], image[:, EDGE + reach :], atol=1e-3)
    assert sharpness(slice_[:, : EDGE - reach]) < 0.2 * sharpness(image[:, : EDGE - reach])


def test_blur_grows_with_distance_from_focus():
    image = texture()
    stack = defocus_stack(image, np.full((HEIGHT, WIDTH), FAR), [FAR, FAR + 1, FAR + 2, FAR + 4], APERTURE)
    scores = [sharpness(slice_[8:-8, 8:-8]) for slice_ in stack]
    assert all(later < earlier for earlier, later in itertools.pairwise(scores)), scores
    np.testing.assert_allclose(stack[0], image, atol=1e-6)


def test_blur_is_symmetric_in_front_of_and_behind_the_focus():
    image = texture()
    behind, in_front = defocus_stack(image, np.full((HEIGHT, WIDTH), FAR), [FAR - 3, FAR + 3], APERTURE)
    np.testing.assert_allclose(behind, in_front, atol=1e-6)


def test_per_slice_apertures():
    image = texture()
    stack = defocus_stack(image, np.full((HEIGHT, WIDTH), FAR), [NEAR] * 3, [0.0, 0.5, 1.5])
    np.testing.assert_allclose(stack[0], image, atol=1e-6)
    assert sharpness(stack[2]) < sharpness(stack[1]) < sharpness(stack[0])


def test_constant_colour_stays_constant_under_any_blur():
    colour = np.array([0.2, 0.5, 0.9], np.float32)
    image = np.broadcast_to(colour, (HEIGHT, WIDTH, 3))
    disparity = ndimage.gaussian_filter(np.random.default_rng(1).random((HEIGHT, WIDTH)), 4) * 40
    stack = defocus_stack(image, disparity, [0.0, 10.0, 25.0], 0.8)
    np.testing.assert_allclose(stack, np.broadcast_to(colour, stack.shape), atol=1e-5)


def test_unknown_disparity_takes_the_nearest_known_value():
    image = texture()
    disparity = two_planes()
    holes = disparity.copy()
    holes[20:30, 60:70] = np.nan  # inside the far plane
    holes[40:44, 70:72] = np.inf
    holes[0, -1] = -np.inf
    focus = [NEAR, 5.0, FAR]
    with_holes = defocus_stack(image, holes, focus, APERTURE)
    assert np.all(np.isfinite(with_holes))
    np.testing.assert_array_equal(with_holes, defocus_stack(image, disparity, focus, APERTURE))


def test_all_unknown_disparity_is_rejected():
    with pytest.raises(ValueError, match="no finite"):
        defocus_stack(texture(), np.full((HEIGHT, WIDTH), np.nan), [FAR], APERTURE)


def test_uint8_image_is_read_as_grey_levels():
    image = np.round(texture() * 255).astype(np.uint8)
    stack = defocus_stack(image, two_planes(), [5.0], APERTURE)
    np.testing.assert_allclose(stack, defocus_stack(image / np.float32(255), two_planes(), [5.0], APERTURE), atol=1e-6)
    assert stack.dtype == np.float32 and stack.shape == (1, HEIGHT, WIDTH, 3)


def test_explicit_layer_step():
    image = texture()
    disparity = np.tile(np.linspace(0.0, 10.0, WIDTH), (HEIGHT, 1))
    fine = defocus_stack(image, disparity, [5.0], 0.5, layer_step=0.1)
    default = defocus_stack(image, disparity, [5.0], 0.5)
    assert np.mean(np.abs(fine - default)) < 0.01
    with pytest.raises(ValueError, match="layer_step"):
        defocus_stack(image, disparity, [5.0], 0.5, layer_step=0.0)


@pytest.mark.parametrize(
    "image, disparity, focus, aperture, message",
    [
        (np.zeros((HEIGHT, WIDTH)), np.zeros((HEIGHT, WIDTH)), [0.0], 1.0, r"\(H, W, 3\)"),
        (
            np.zeros((HEIGHT, WIDTH, 3)),
            np.zeros((HEIGHT, WIDTH + 1)),
            [0.0],
            1.0,
            rf"\({HEIGHT}, {WIDTH + 1}\).*\({HEIGHT}, {WIDTH}\)",
        ),
        (np.zeros((HEIGHT, WIDTH, 3)), np.zeros((HEIGHT, WIDTH)), [], 1.0, "non-empty"),
        (np.zeros((HEIGHT, WIDTH, 3)), np.zeros((HEIGHT, WIDTH)), [0.0, np.inf], 1.0, "finite"),
        (np.zeros((HEIGHT, WIDTH, 3)), np.zeros((HEIGHT, WIDTH)), [0.0], -1.0, ">= 0"),
        (np.zeros((HEIGHT, WIDTH, 3)), np.zeros((HEIGHT, WIDTH)), [0.0], np.nan, "finite"),
        (np.zeros((HEIGHT, WIDTH, 3)), np.zeros((HEIGHT, WIDTH)), [0.0, 1.0], [1.0, 2.0, 3.0], "one per focus"),
    ],
)
def test_bad_inputs_are_rejected(image, disparity, focus, aperture, message):
    with pytest.raises(ValueError, match=message):
        defocus_stack(image, disparity, focus, aperture)
