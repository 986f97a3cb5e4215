import logging

import cv2
import numpy as np
import pytest

from aifdepth.align import MOTIONS, align_stack, corner_error
from aifdepth.errors import InputError

HEIGHT, WIDTH = 180, 240  # at 160x120 the most blurred slices leave too little texture for a 0.5 px homography
SLICES = 8
BREATHING, MOTION_PX, ROTATION_DEG = 0.03, 10.0, 0.5  # of the last slice; largest translation and rotation


def textured_image(rng, height=HEIGHT, width=WIDTH):
    """Smoothed colour noise with a few hard-edged rectangles: texture at several scales, like a real scene."""
    noise = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 1.5)
    image = 40 + 170 * (noise - noise.min()) / (noise.max() - noise.min())
    for _ in range(6):
        left, top = int(rng.integers(0, width)), int(rng.integers(0, height))
        right, bottom = left + int(rng.integers(10, width // 3)), top + int(rng.integers(10, height // 3))
        cv2.rectangle(image, (left, top), (right, bottom), [float(c) for c in rng.uniform(0, 255, 3)], -1)
    return image


def focal_stack(rng, warped=True):
    """Slices blurred from sigma 0 to 3, then captured as the Mobile Depth stand-in does: slice k =
    warpAffine(aligned k, M_k), M_k a scale about the centre, a rotation and a translation (identity for k = 0).

    Returns the captured slices, the true M_k as 3x3 matrices and the aligned slices.
    """
    sharp = textured_image(rng)
    centre = ((WIDTH - 1) / 2, (HEIGHT - 1) / 2)
    slices, truths, aligned_slices = [], [], []
    for k in range(SLICES):
        sigma = 3.0 * k / (SLICES - 1)
        aligned = np.clip(cv2.GaussianBlur(sharp, (0, 0), sigma) if sigma else sharp, 0, 255).astype(np.uint8)
        matrix = np.eye(3)
        if warped and k:
            angle = float(rng.uniform(-ROTATION_DEG, ROTATION_DEG))
            matrix[:2] = cv2.getRotationMatrix2D(centre, angle, 1.0 + BREATHING * k / (SLICES - 1))
            matrix[:2, 2] += rng.uniform(-MOTION_PX, MOTION_PX, 2)
        slices.append(
            cv2.warpAffine(aligned, matrix[:2], (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        )
        truths.append(matrix)
        aligned_slices.append(aligned)
    return slices, truths, aligned_slices


def corner_errors(alignment, truths):
    pairs = zip(alignment.transforms, truths, strict=True)
    return [corner_error(estimated, true, (HEIGHT, WIDTH)) for estimated, true in pairs]


@pytest.mark.parametrize("motion", MOTIONS)
def test_recovers_breathing_and_camera_motion(motion):
    slices, truths, aligned_slices = focal_stack(np.random.default_rng(7))
    alignment = align_stack(slices, motion=motion)
    assert alignment.warnings == []
    assert max(corner_errors(alignment, truths)) < 0.5
    assert np.array_equal(alignment.transforms[0], np.eye(3))
    inner = (slice(15, -15), slice(15, -15))  # the border is reflected content in both
    for aligned, expected in zip(alignment.images, aligned_slices, strict=True):
        assert aligned.shape == expected.shape and aligned.dtype == np.uint8
        assert np.abs(aligned[inner].astype(int) - expected[inner].astype(int)).mean() < 1.5  # resampled twice


def test_aligned_stack_stays_put():
    slices, truths, _ = focal_stack(np.random.default_rng(8), warped=False)
    alignment = align_stack(slices)
    assert alignment.warnings == []
    assert max(corner_errors(alignment, truths)) < 0.1
    for aligned, original in zip(alignment.images, slices, strict=True):
        difference = np.abs(aligned.astype(int) - original.astype(int))
        assert difference.mean() < 0.1 and difference.max() <= 8


def test_blank_slice_is_left_as_is_with_a_warning(caplog):
    slices, truths, _ = focal_stack(np.random.default_rng(9))
    blank = np.full_like(slices[3], 128)
    slices[3] = blank
    with caplog.at_level(logging.WARNING, logger="aifdepth.align"):
        alignment = align_stack(slices)
    assert len(alignment.warnings) == 1 and "slice 3" in alignment.warnings[0] and "blank" in alignment.warnings[0]
    assert alignment.warnings[0] in caplog.messages
    assert np.array_equal(alignment.transforms[3], np.eye(3))
    assert np.array_equal(alignment.images[3], blank)
    errors = corner_errors(alignment, truths)
    assert max(errors[:3] + errors[4:]) < 0.5


def test_unrelated_slice_is_left_as_is_with_a_warning():
    slices, truths, _ = focal_stack(np.random.default_rng(10))
    stranger = textured_image(np.random.default_rng(11)).astype(np.uint8)
    slices[5] = stranger
    alignment = align_stack(slices, reference=2)
    assert len(alignment.warnings) == 1 and "slice 5" in alignment.warnings[0]
    assert np.array_equal(alignment.transforms[5], np.eye(3))
    assert np.array_equal(alignment.images[5], stranger)
    relative_truths = [true @ np.linalg.inv(truths[2]) for true in truths]  # the reference is slice 2 here
    errors = corner_errors(alignment, relative_truths)
    assert max(errors[:5] + errors[6:]) < 0.5


def test_implausible_zoom_is_rejected():
    """ECC does follow a 35 % zoom, but focus breathing cannot cause one: the slice is left as is."""
    slices, truths, _ = focal_stack(np.random.default_rng(13))
    zoom = cv2.getRotationMatrix2D(((WIDTH - 1) / 2, (HEIGHT - 1) / 2), 0.0, 1.35)
    zoomed = cv2.warpAffine(slices[6], zoom, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REFLECT)
    slices[6] = zoomed
    alignment = align_stack(slices)
    assert len(alignment.warnings) == 1 and "slice 6" in alignment.warnings[0] and "scale" in alignment.warnings[0]
    assert np.array_equal(alignment.transforms[6], np.eye(3))
    assert np.array_equal(alignment.images[6], zoomed)
    assert corner_errors(alignment, truths)[7] < 0.5


def test_corner_error_by_hand():
    identity = np.eye(3)
    shifted = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert corner_error(identity, identity, (120, 160)) == 0.0
    assert corner_error(identity, shifted, (120, 160)) == pytest.approx(2.0)
    # doubling about the origin moves the corners of a 3x5 image (0,0) (4,0) (0,2) (4,2) by 0, 4, 2 and sqrt(20)
    doubled = np.diag([2.0, 2.0, 1.0])
    assert corner_error(doubled, identity, (3, 5)) == pytest.approx((0 + 4 + 2 + np.sqrt(20)) / 4)
    # a homography is compared after its division by w
    assert corner_error(3 * shifted, shifted, (120, 160)) == pytest.approx(0.0)


def stack_of(count, shape=(40, 50, 3), dtype=np.uint8):
    return [np.zeros(shape, dtype) for _ in range(count)]


@pytest.mark.parametrize(
    "images, reference, motion, message",
    [
        (stack_of(1), 0, "affine", "at least 2"),
        ([*stack_of(1), np.zeros((40, 60, 3), np.uint8)], 0, "affine", "slice 1"),
        ([*stack_of(1), np.zeros((40, 50), np.uint8)], 0, "affine", "slice 1"),
        (stack_of(2, dtype=np.float32), 0, "affine", "slice 0"),
        (stack_of(3), 3, "affine", "reference slice 3"),
        (stack_of(3), -1, "affine", "reference slice -1"),
        (stack_of(3), 0, "similarity", "unknown motion"),
    ],
)
def test_bad_input_raises(images, reference, motion, message):
    with pytest.raises(InputError, match=message):
        align_stack(images, reference, motion)


def test_blank_reference_raises():
    slices, _, _ = focal_stack(np.random.default_rng(12), warped=False)
    slices[0] = np.zeros_like(slices[0])
    with pytest.raises(InputError, match="reference slice 0 is blank"):
        align_stack(slices)


def held_out_texture(rng, kind, height, width):
    """Textures unlike the stand-in's: fine noise, smooth multi-scale 'natural' shading, sparse edges."""
    if kind == "fine":
        base = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 0.7)
    elif kind == "smooth":
        octaves = [rng.random((max(2, height >> o), max(2, width >> o), 3)).astype(np.float32) for o in range(1, 7)]
        base = sum(
            cv2.resize(o, (width, height), interpolation=cv2.INTER_CUBIC) / (k + 1) for k, o in enumerate(octaves)
        )
    else:
        base = np.full((height, width, 3), 0.5, np.float32)
        for _ in range(25):
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            size = (x + int(rng.integers(8, width // 4)), y + int(rng.integers(8, height // 4)))
            cv2.rectangle(base, (x, y), size, [float(c) for c in rng.random(3)], -1)
    return 30 + 190 * (base - base.min()) / (base.max() - base.min())


@pytest.mark.parametrize("kind", ["fine", "smooth", "sparse"])
def test_large_motion_is_found_by_phase_correlation_first(kind):
    """Shifts up to 5 % of the width and 4 % breathing, blur 0.5-3 px: too far for ECC from the
    neighbour's transform on a fine texture (every slice failed before), within reach from the global
    estimate; every slice ends within 0.5 px."""
    rng = np.random.default_rng(0)
    height, width, slices = 240, 320, 8
    sharp = held_out_texture(rng, kind, height, width)
    centre = ((width - 1) / 2, (height - 1) / 2)
    stack, truths = [], []
    for k in range(slices):
        blurred = np.clip(cv2.GaussianBlur(sharp, (0, 0), 0.5 + 2.5 * k / (slices - 1)), 0, 255).astype(np.uint8)
        matrix = np.eye(3)
        if k:
            matrix[:2] = cv2.getRotationMatrix2D(centre, float(rng.uniform(-0.5, 0.5)), 1 + 0.04 * k / (slices - 1))
            matrix[:2, 2] += rng.uniform(-0.05 * width, 0.05 * width, 2)
        stack.append(
            cv2.warpAffine(blurred, matrix[:2], (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        )
        truths.append(matrix)
    alignment = align_stack(stack)
    assert alignment.warnings == []
    errors = [corner_error(estimated, true, (height, width)) for estimated, true in zip(alignment.transforms, truths)]
    assert max(errors) < 0.5, errors
    if kind == "fine":
        assert alignment.restarted == list(range(1, slices))  # the global estimate did the work
