"""Physics and statistics of the synthetic scene generator.

The light field must show real parallax and occlusion (not blur), random
scenes must exercise the whole disparity range with depth edges and weakly
textured regions, and textures must be varied and carry pixel-scale detail.
"""

import itertools

import cv2
import numpy as np
import pytest

from aifdepth.synth.scene import Blob, Ellipse, Polygon, Scene, Surface, random_scene, render_lightfield, render_view
from aifdepth.synth.textures import TEXTURE_KINDS, add_weak_patch, natural_texture

SIZE = 64
MARGIN = 24  # texture margin beyond the image: covers |du * d| <= 20 in every test
WEAK_DETAIL = 0.01  # local Laplacian rms below which a region gives almost no focus cue


def _textured_plane(seed: int, d0: float, **plane: float) -> Surface:
    texture = natural_texture(np.random.default_rng(seed), SIZE + 2 * MARGIN, SIZE + 2 * MARGIN, "pink_noise")
    return Surface(texture, (-MARGIN, -MARGIN), d0, **plane)


def _pixel_grid(height: int = SIZE, width: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:height, 0:width]
    return rows.astype(np.float64), cols.astype(np.float64)


def _local_detail(rgb: np.ndarray) -> np.ndarray:
    """Local rms of the Laplacian: the fine detail that defocus removes."""
    laplacian = cv2.Laplacian(rgb.mean(axis=2).astype(np.float32), cv2.CV_32F)
    return np.sqrt(cv2.boxFilter(laplacian * laplacian, -1, (7, 7)))


@pytest.mark.parametrize("du, dv, d0", [(2, 0, 1.0), (0, -3, 1.0), (-1, 2, -2.0), (4, 4, 0.5)])
def test_fronto_plane_view_is_centre_view_shifted_by_parallax(du, dv, d0):
    scene = Scene(SIZE, SIZE, [_textured_plane(0, d0)])
    centre, _ = render_view(scene)
    view, disparity = render_view(scene, du, dv)
    # The centre-view point (r, c) appears at (r - du*d0, c - dv*d0): an integer shift here.
    shift_r, shift_c = int(du * d0), int(dv * d0)
    inner = slice(8, SIZE - 8)
    expected = centre[8 + shift_r : SIZE - 8 + shift_r, 8 + shift_c : SIZE - 8 + shift_c]
    np.testing.assert_array_equal(view[inner, inner], expected)
    assert np.all(disparity == np.float32(d0))


def test_near_object_moves_more_and_disocclusion_reveals_background():
    background = _textured_plane(1, -1.0)
    disc = Ellipse(32.0, 32.0, 10.0, 10.0, 0.0)
    disc_texture = natural_texture(np.random.default_rng(2), 40, 40, "cells")
    scene = Scene(SIZE, SIZE, [background, Surface(disc_texture, (12.0, 12.0), 2.0, shape=disc)])
    rows, cols = _pixel_grid()
    in_disc = disc.contains(rows, cols)

    centre, centre_disparity = render_view(scene)
    assert np.all(centre_disparity[in_disc] == 2.0) and np.all(centre_disparity[~in_disc] == -1.0)

    dv = 2.0  # the object (d=2) shifts by -dv*2 = -4 columns, the background (d=-1) by +2
    side, side_disparity = render_view(scene, 0.0, dv)
    object_in_side = side_disparity == 2.0
    np.testing.assert_array_equal(object_in_side, disc.contains(rows, cols + 4))
    displacement = cols[object_in_side].mean() - cols[in_disc].mean()
    assert displacement == pytest.approx(-dv * 2.0)
    hit_r, hit_c = np.nonzero(object_in_side)
    np.testing.assert_array_equal(side[hit_r, hit_c], centre[hit_r, hit_c + 4])

    disoccluded = in_disc & ~object_in_side
    assert disoccluded.sum() > 50
    assert np.all(side_disparity[disoccluded] == -1.0)
    background_alone, _ = render_view(Scene(SIZE, SIZE, [background]), 0.0, dv)
    np.testing.assert_array_equal(side[disoccluded], background_alone[disoccluded])


def test_slanted_plane_disparity_follows_plane_equation_in_every_view():
    plane = {"grad_r": 0.012, "grad_c": -0.018, "r0": 20.0, "c0": 40.0}
    surface = _textured_plane(3, 0.5, **plane)
    scene = Scene(SIZE, SIZE, [surface])
    rows, cols = _pixel_grid()
    _, disparity = render_view(scene)
    expected = 0.5 + 0.012 * (rows - 20.0) - 0.018 * (cols - 40.0)
    np.testing.assert_allclose(disparity, expected, atol=1e-5)
    for du, dv in [(4.0, -4.0), (-3.0, 1.0)]:
        _, disparity = render_view(scene, du, dv)
        # The point seen at (r', c') with disparity d lies at (r' + du*d, c' + dv*d) in the centre view.
        at_centre = surface.disparity(rows + du * disparity, cols + dv * disparity)
        np.testing.assert_allclose(disparity, at_centre, atol=1e-5)
        assert not np.allclose(disparity, expected, atol=1e-3)


def test_shapes_have_sharp_analytic_edges_at_subpixel_positions():
    ellipse = Ellipse(0.0, 0.0, 4.0, 2.0, np.pi / 2)  # long axis along rows
    assert ellipse.contains(np.array([3.99, 0.0]), np.array([0.0, 1.99])).all()
    assert not ellipse.contains(np.array([4.01, 0.0]), np.array([0.0, 2.01])).any()
    square = Polygon(np.array([[0.0, 0.0], [0.0, 2.0], [2.0, 2.0], [2.0, 0.0]]))
    assert square.contains(np.array([1.0, 0.01]), np.array([1.0, 1.99])).all()
    assert not square.contains(np.array([1.0, -0.01]), np.array([2.01, 1.0])).any()
    notched = Polygon(np.array([[0.0, 0.0], [0.0, 4.0], [4.0, 4.0], [2.0, 2.0], [4.0, 0.0]]))
    assert not notched.contains(np.array(3.5), np.array(2.0))
    blob = Blob(0.0, 0.0, 5.0, np.array([0.2]), np.array([0.0]))  # radius 6 along columns, 4 along rows
    assert blob.contains(np.array([0.0, 3.9]), np.array([5.9, 0.0])).all()
    assert not blob.contains(np.array([0.0, 4.1]), np.array([6.1, 0.0])).any()
    for shape in (ellipse, square, notched, blob):
        r_min, r_max, c_min, c_max = shape.bounds()
        rows, cols = np.mgrid[r_min - 1 : r_max + 1 : 0.05, c_min - 1 : c_max + 1 : 0.05]
        inside = shape.contains(rows, cols)
        assert inside.any()
        assert r_min <= rows[inside].min() and rows[inside].max() <= r_max
        assert c_min <= cols[inside].min() and cols[inside].max() <= c_max


@pytest.mark.parametrize("disparity_range", [(-2.5, 2.5), (10.0, 60.0), (0.2, 1.5)])
def test_random_scenes_stay_inside_range_and_use_most_of_it(disparity_range):
    far, near = disparity_range
    span = near - far
    rows, cols = _pixel_grid(48, 60)
    for seed in range(10):
        scene = random_scene(np.random.default_rng(seed), 48, 60, disparity_range)
        rgb, disparity = render_view(scene)
        assert rgb.dtype == np.float32 and disparity.dtype == np.float32
        assert rgb.min() >= 0.0 and rgb.max() <= 1.0
        assert far < disparity.min() and disparity.max() < near
        assert disparity.max() - disparity.min() > 0.8 * span
        background = scene.surfaces[0].disparity(rows, cols)
        for surface in scene.surfaces:
            covered = surface.covers(rows, cols)
            surface_disparity = surface.disparity(rows, cols)[covered]
            assert np.all((far < surface_disparity) & (surface_disparity < near))
            if surface.shape is not None:
                assert np.all(surface_disparity > background[covered] + 0.05 * span)
        jump = max(np.abs(np.diff(disparity, axis=0)).max(), np.abs(np.diff(disparity, axis=1)).max())
        assert jump > 0.05 * span


def test_random_scenes_mix_shapes_slants_and_object_counts():
    scenes = [random_scene(np.random.default_rng(seed), 48, 48, (-2.0, 2.0)) for seed in range(20)]
    objects = [surface for scene in scenes for surface in scene.surfaces[1:]]
    assert {len(scene.surfaces) - 1 for scene in scenes} == {2, 3, 4, 5}
    assert {type(surface.shape) for surface in objects} == {Ellipse, Polygon, Blob}
    slanted = [surface.grad_r != 0.0 or surface.grad_c != 0.0 for surface in objects + [s.surfaces[0] for s in scenes]]
    assert 0.2 < np.mean(slanted) < 0.8
    assert len(random_scene(np.random.default_rng(0), 48, 48, (-2.0, 2.0), n_objects=7).surfaces) == 8


def test_most_random_scenes_have_weakly_textured_regions():
    weak_fractions = []
    for seed in range(16):
        rgb, _ = render_view(random_scene(np.random.default_rng(seed), 96, 96, (-2.5, 2.5)))
        weak_fractions.append(np.mean(_local_detail(rgb) < WEAK_DETAIL))
    assert np.mean(np.array(weak_fractions) > 0.02) >= 0.6
    assert np.median(weak_fractions) < 0.5  # detail still dominates


def test_random_scene_is_deterministic_per_seed():
    def render(seed: int) -> tuple[np.ndarray, np.ndarray]:
        scene = random_scene(np.random.default_rng(seed), 40, 48, (-2.0, 2.0))
        return render_lightfield(scene, grid=3), render_view(scene)[1]

    first, again, other = render(7), render(7), render(8)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], other[0], atol=0.05)
    assert not np.allclose(first[1], other[1], atol=0.05)


def test_lightfield_stacks_views_around_the_centre():
    scene = random_scene(np.random.default_rng(3), 40, 52, (-2.5, 2.5))
    lightfield = render_lightfield(scene)
    assert lightfield.shape == (9, 9, 40, 52, 3) and lightfield.dtype == np.float32
    assert lightfield.min() >= 0.0 and lightfield.max() <= 1.0
    for u, v in [(4, 4), (0, 0), (8, 2)]:
        np.testing.assert_array_equal(lightfield[u, v], render_view(scene, u - 4, v - 4)[0])
        disparity = render_view(scene, u - 4, v - 4)[1]
        # Beyond the image border a slanted background may overshoot the range slightly.
        assert disparity.min() > -2.5 - 0.05 and disparity.max() < 2.5
    assert not np.allclose(lightfield[0, 0], lightfield[8, 8], atol=0.05)


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
def test_texture_is_valid_and_deterministic(kind):
    texture = natural_texture(np.random.default_rng(5), 70, 90, kind)
    assert texture.shape == (70, 90, 3) and texture.dtype == np.float32
    assert texture.min() >= 0.0 and texture.max() <= 1.0
    np.testing.assert_array_equal(texture, natural_texture(np.random.default_rng(5), 70, 90, kind))
    other_seed = natural_texture(np.random.default_rng(6), 70, 90, kind)
    assert np.abs(texture.mean(axis=(0, 1)) - other_seed.mean(axis=(0, 1))).max() > 0.01  # random palettes


def test_detailed_textures_have_fine_and_coarse_structure_weak_has_no_detail():
    for kind, seed in itertools.product(TEXTURE_KINDS, range(4)):
        texture = natural_texture(np.random.default_rng(seed), 128, 128, kind)
        gray = texture.mean(axis=2)
        fine = (gray - cv2.GaussianBlur(gray, (0, 0), 1.0)).std()
        coarse = cv2.GaussianBlur(gray, (0, 0), 4.0).std()
        if kind == "weak":
            assert fine < 0.001 and 0.002 < gray.std() < 0.05
        else:
            assert fine > 0.01 and coarse > 0.012, kind
            assert np.mean(_local_detail(texture) < WEAK_DETAIL) < 0.1, kind


def _texture_statistics(texture: np.ndarray) -> np.ndarray:
    """Palette-independent descriptor: share of power per octave band, and gradient orientation coherence."""
    gray = texture.mean(axis=2).astype(np.float64)
    power = np.abs(np.fft.fft2(gray - gray.mean())) ** 2
    radial = np.hypot(np.fft.fftfreq(gray.shape[0])[:, None], np.fft.fftfreq(gray.shape[1])[None, :])
    band_edges = 0.5 * 2.0 ** -np.arange(6, -1, -1.0)
    bands = np.array([power[(radial >= low) & (radial < high)].sum() for low, high in itertools.pairwise(band_edges)])
    grad_r, grad_c = cv2.Sobel(gray, cv2.CV_64F, 0, 1), cv2.Sobel(gray, cv2.CV_64F, 1, 0)
    j_rr, j_cc, j_rc = (grad_r * grad_r).mean(), (grad_c * grad_c).mean(), (grad_r * grad_c).mean()
    coherence = np.hypot(j_rr - j_cc, 2.0 * j_rc) / (j_rr + j_cc)
    return np.append(np.log(bands / bands.sum()), coherence)


def test_texture_kinds_differ_statistically():
    samples = {}
    for kind in TEXTURE_KINDS:
        textures = [natural_texture(np.random.default_rng(seed), 128, 128, kind) for seed in range(6)]
        samples[kind] = np.array([_texture_statistics(texture) for texture in textures])
    for first, second in itertools.combinations(TEXTURE_KINDS, 2):
        gap = np.abs(samples[first].mean(axis=0) - samples[second].mean(axis=0))
        pooled_std = np.sqrt(0.5 * (samples[first].var(axis=0) + samples[second].var(axis=0)))
        assert np.any(gap > 2.0 * pooled_std), (first, second)


def test_weak_patch_removes_detail_only_inside_it():
    texture = natural_texture(np.random.default_rng(9), 96, 96, "cells")
    patched = add_weak_patch(np.random.default_rng(9), texture, (48.0, 48.0), 24.0)
    detail = _local_detail(patched)
    assert detail[42:55, 42:55].max() < WEAK_DETAIL
    np.testing.assert_array_equal(patched[:8], texture[:8])
