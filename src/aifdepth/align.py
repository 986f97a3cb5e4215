"""Align the slices of a focal stack despite focus breathing, camera motion and a blur that changes per slice.

Every transform is a 3x3 matrix mapping reference-frame pixels (x, y, 1) to slice pixels, the convention of the
synthetic Mobile Depth stand-in's truth matrices, so estimates and truth compare directly; aligning slice k
samples it at T_k @ (x, y, 1) for every reference pixel.
"""

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError
from .io.atomic import atomic_path
from .io.images import read_rgb, write_rgb

log = logging.getLogger(__name__)

MOTIONS = ("affine", "homography")
ECC_MOTIONS = {"affine": cv2.MOTION_AFFINE, "homography": cv2.MOTION_HOMOGRAPHY}

COARSEST_WIDTH = 128  # ECC's capture range is a few pixels: start where 10 px of camera motion shrinks to that
COARSE_ITERATIONS, COARSE_EPSILON = 30, 1e-4  # the coarse levels only need to land in the fine level's basin
FINE_ITERATIONS, FINE_EPSILON = 50, 1e-5
REFINE_ROUNDS = 2  # the second blur match sees a sub-pixel alignment, hence a cleaner blur estimate
ECC_SMOOTHING = 3  # findTransformECC's own Gaussian kernel size, against noise and aliasing

BLUR_SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0)  # extra blur tried to match two slices, px
BLUR_TILES = (4, 4)  # defocus varies with depth, so the blur is matched per tile rather than once per image
MIN_TILE_PIXELS = 50
BORDER_MARGIN = 4  # px of the warped slice's edge left out, where interpolation and the border fill mix

GLOBAL_WIDTH = 256  # px of the phase-correlation images: coarse enough to be cheap, fine enough for 1 px
RESTART_LEVELS = (1, 0)  # pyramid levels ECC starts at from the global estimate: half, then full resolution

MIN_CONTRAST = 1.0  # grey-level standard deviation below which a slice has nothing to align on
MIN_CORRELATION = 0.8  # unrelated images reach ~0.5 after blur matching and ECC, slices of one scene > 0.95
SCALE_RANGE = (0.8, 1.25)
MAX_SHIFT = 0.25  # of the image size


@dataclass
class Alignment:
    images: list[np.ndarray]  # aligned slices, uint8 (H, W, 3), input order, same size as the reference
    transforms: list[np.ndarray]  # 3x3 float64, reference pixel -> slice pixel; identity for the reference
    warnings: list[str]  # one per slice that could not be aligned (it is then left as is)
    restarted: list[int] = field(default_factory=list)  # slices ECC reached only from the global estimate

    def record(self) -> dict:
        """Transforms and warnings as plain JSON values, for the stack files that keep them."""
        return {"transforms": [transform.tolist() for transform in self.transforms], "warnings": self.warnings}

    def write_record(self, path, inputs, reference: int, motion: str, outputs=None) -> None:
        """transforms.json, the one layout both `aifdepth align` and `predict --align` write."""
        slices = [
            {"input": str(source), "transform": transform.tolist()}
            for source, transform in zip(inputs, self.transforms)
        ]
        for entry, output in zip(slices, outputs or []):
            entry["output"] = str(output)
        record = {
            "reference": reference,
            "motion": motion,
            "note": "each matrix maps reference-slice pixels to the input slice's pixels",
            "slices": slices,
            "warnings": self.warnings,
        }
        with atomic_path(Path(path)) as tmp:
            tmp.write_text(json.dumps(record, indent=1))


class AlignmentFailure(Exception):
    """Why one slice cannot be aligned; align_stack turns it into a warning instead of a corrupted stack."""


def align_files(images, out_dir, reference: int = 0, motion: str = "affine") -> Alignment:
    """Align image files into `out_dir`: `{k:02d}_{name}.png` per slice and transforms.json."""
    images = [Path(path) for path in images]
    alignment = align_stack([read_rgb(path) for path in images], reference=reference, motion=motion)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = [out_dir / f"{k:02d}_{path.stem}.png" for k, path in enumerate(images)]
    for path, image in zip(outputs, alignment.images):
        write_rgb(path, image)
    alignment.write_record(out_dir / "transforms.json", images, reference, motion, outputs)
    return alignment


def align_stack(images: list[np.ndarray], reference: int = 0, motion: str = "affine") -> Alignment:
    """Register every slice directly to the reference, with the blur of the two equalised per tile first.

    Chaining neighbours keeps the blur difference per registration small but adds up their errors: on 8-slice
    160x120 stacks blurred from sigma 0 to 3 the far slices drifted by up to 0.8 px, against 0.2 px when
    registering directly. Direct registration is only biased by the blur difference (ECC shrinks or grows the
    blurrier image to match the sharper one), which matching the blur removes; the neighbour closer to the
    reference, already aligned, still serves as the starting guess because breathing and hand shake change
    little from one slice to the next.
    """
    _validate(images, reference, motion)
    greys = [_grey(image) for image in images]
    if greys[reference].std() < MIN_CONTRAST:
        raise InputError(
            f"reference slice {reference} is blank (no contrast to align on): choose another slice as the reference"
        )
    reference_pyramid = _pyramid(greys[reference])
    transforms = [np.eye(3) for _ in images]
    aligned = list(images)
    warnings, restarted = [], []
    for index in sorted(range(len(images)), key=lambda k: abs(k - reference)):
        if index == reference:
            continue
        neighbour = index - 1 if index > reference else index + 1
        try:
            if greys[index].std() < MIN_CONTRAST:
                raise AlignmentFailure("it is blank (no contrast to align on)")
            try:
                transforms[index] = _register(
                    greys[reference], reference_pyramid, greys[index], transforms[neighbour], motion
                )
            except AlignmentFailure as failure:  # too far from that start for ECC: start from a global estimate
                log.info(
                    "slice %d: %s from the neighbour's transform; restarting from phase correlation", index, failure
                )
                restarted.append(index)
                start = _global_start(greys[reference], greys[index], transforms[neighbour])
                transforms[index] = _restart(greys[reference], reference_pyramid, greys[index], start, motion)
        except AlignmentFailure as failure:
            warning = f"slice {index}: left unaligned because {failure}"
            log.warning(warning)
            warnings.append(warning)
            continue
        height, width = images[index].shape[:2]
        aligned[index] = cv2.warpPerspective(
            images[index],
            transforms[index],
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT,
        )
    return Alignment(aligned, transforms, warnings, restarted)


def corner_error(estimated: np.ndarray, true: np.ndarray, shape: tuple[int, int]) -> float:
    """Mean displacement in px of the four image corners mapped by the two 3x3 transforms.

    `shape` is (height, width); the corners are the outer pixel centres, where the errors of scale, rotation and
    perspective add up most, so a small corner error bounds the error everywhere in the image.
    """
    height, width = shape
    corners = np.array([[0, 0, 1], [width - 1, 0, 1], [0, height - 1, 1], [width - 1, height - 1, 1]], float).T
    mapped_estimated, mapped_true = estimated @ corners, true @ corners
    displacement = mapped_estimated[:2] / mapped_estimated[2] - mapped_true[:2] / mapped_true[2]
    return float(np.linalg.norm(displacement, axis=0).mean())


def _validate(images, reference, motion):
    if motion not in MOTIONS:
        raise InputError(f"unknown motion model {motion!r}: use one of {', '.join(MOTIONS)}")
    if len(images) < 2:
        raise InputError(f"a focal stack to align needs at least 2 slices, got {len(images)}: pass the whole stack")
    if not isinstance(reference, (int, np.integer)) or not 0 <= reference < len(images):
        raise InputError(
            f"reference slice {reference!r} is not in the stack of {len(images)} slices: "
            f"use an index from 0 to {len(images) - 1}"
        )
    for index, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(
                f"slice {index} is a {image.dtype} array of shape {image.shape}: "
                "pass every slice as an RGB uint8 (H, W, 3) image"
            )
        first_height, first_width = np.shape(images[0])[:2]
        if image.shape != np.shape(images[0]):
            raise InputError(
                f"slice {index} is {image.shape[1]}x{image.shape[0]} px but slice 0 is "
                f"{first_width}x{first_height} px: crop or resize the slices to one size"
            )


def _grey(image):
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _pyramid(grey):
    """Finest level first, down to 64-128 px wide but never under 32 px on the short side.

    pyrDown keeps pixel i of a level at pixel 2i of the finer one, so moving a transform between levels is exact.
    """
    levels = [grey]
    while levels[-1].shape[1] > COARSEST_WIDTH and min(levels[-1].shape) > COARSEST_WIDTH // 2:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _global_start(reference_grey, slice_grey, neighbour):
    """The neighbour's transform (breathing and rotation change little from one slice to the next) with
    the translation found again by phase correlation at a coarse size.

    Phase correlation compares the phases of the two spectra, which a symmetric blur leaves alone, and
    finds shifts of any size, where ECC needs a start within a few pixels.
    """
    height, width = reference_grey.shape
    factor = min(1.0, GLOBAL_WIDTH / width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    reference = cv2.resize(reference_grey, size, interpolation=cv2.INTER_AREA)
    moving = cv2.resize(slice_grey, size, interpolation=cv2.INTER_AREA)
    neighbour = _rescale(neighbour, factor)
    resampled = cv2.warpPerspective(
        moving, neighbour, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
    )
    (dx, dy), _ = cv2.phaseCorrelate(reference, resampled, cv2.createHanningWindow(size, cv2.CV_32F))
    translation = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])
    return _rescale(neighbour @ translation, 1 / factor)


def _rescale(transform, factor):
    """The same motion in pixel units `factor` times finer (a homography's perspective row scales inversely)."""
    scale = np.diag([factor, factor, 1.0])
    return scale @ transform @ np.linalg.inv(scale)


def _restart(reference_grey, reference_pyramid, slice_grey, start, motion):
    """ECC from the global estimate, from half resolution first, else at full resolution only (with the
    blur matched), where the texture of a very blurred slice survives best."""
    for level in RESTART_LEVELS[:-1]:
        try:
            return _register(reference_grey, reference_pyramid, slice_grey, start, motion, coarsest=level)
        except AlignmentFailure:
            log.info("ECC from the global estimate failed at pyramid level %d; trying level 0 only", level)
    return _register(reference_grey, reference_pyramid, slice_grey, start, motion, coarsest=RESTART_LEVELS[-1])


def _register(reference_grey, reference_pyramid, slice_grey, start, motion, coarsest=None):
    """Coarse-to-fine ECC down to half resolution, then blur-matched refinement at full resolution.
    `coarsest` caps the level ECC starts at (a start known to be close needs no coarse levels, where a
    fine texture blurs away)."""
    slice_pyramid = _pyramid(slice_grey)
    coarsest = len(reference_pyramid) - 1 if coarsest is None else min(coarsest, len(reference_pyramid) - 1)
    transform = _rescale(start, 0.5**coarsest)
    for level in range(coarsest, 0, -1):
        _, transform = _ecc(
            reference_pyramid[level], slice_pyramid[level], transform, motion, COARSE_ITERATIONS, COARSE_EPSILON
        )
        transform = _rescale(transform, 2.0)
    for refinement in range(REFINE_ROUNDS):
        final = refinement == REFINE_ROUNDS - 1  # only the final estimate needs the strict stopping criterion
        criteria = (FINE_ITERATIONS, FINE_EPSILON) if final else (COARSE_ITERATIONS, COARSE_EPSILON)
        correlation, transform = _refine(reference_grey, slice_grey, transform, motion, *criteria)
    if correlation < MIN_CORRELATION:
        raise AlignmentFailure(
            f"it does not match the reference (correlation {correlation:.2f} after alignment, below {MIN_CORRELATION})"
        )
    _check_plausible(transform, reference_grey.shape)
    return transform


def _refine(reference_grey, slice_grey, transform, motion, iterations, epsilon):
    """Resample the slice onto the reference, match their blur there, and estimate the small residual motion.

    Matching the blur after resampling accounts for the interpolation blur too, and the residual motion is
    estimated between images with the same blur, free of the scale bias a blur difference causes.
    """
    height, width = reference_grey.shape
    warped = cv2.warpPerspective(
        slice_grey,
        transform,
        (width, height),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )
    inside = cv2.warpPerspective(
        np.ones_like(slice_grey, np.uint8), transform, (width, height), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    )
    valid = cv2.erode(inside, np.ones((2 * BORDER_MARGIN + 1,) * 2, np.uint8))
    reference_matched, warped_matched = _match_blur(reference_grey, warped, valid > 0)
    correlation, residual = _ecc(reference_matched, warped_matched, np.eye(3), motion, iterations, epsilon, valid)
    return correlation, transform @ residual


def _ecc(template, moving, transform, motion, iterations, epsilon, mask=None):
    """cv2.findTransformECC on 3x3 float64 transforms, its errors turned into AlignmentFailure."""
    start = transform[:2] if motion == "affine" else transform / transform[2, 2]
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, epsilon)
    try:
        correlation, estimate = cv2.findTransformECC(
            template, moving, start.astype(np.float32), ECC_MOTIONS[motion], criteria, mask, ECC_SMOOTHING
        )
    except cv2.error as error:
        raise AlignmentFailure(f"ECC failed ({_opencv_reason(error)})") from None
    estimate = estimate.astype(np.float64)
    if motion == "affine":
        estimate = np.vstack([estimate, [0.0, 0.0, 1.0]])
    if not np.all(np.isfinite(estimate)) or not np.isfinite(correlation) or abs(estimate[2, 2]) < 1e-12:
        raise AlignmentFailure("ECC returned a non-finite transform")
    return correlation, estimate / estimate[2, 2]


def _opencv_reason(error):
    """The sentence of an OpenCV error message, without its source path and function name."""
    found = re.search(r"\(-?\d+:[^)]*\)\s*(.*?)\s*in function", str(error), re.DOTALL)
    return found.group(1).rstrip(".") if found else str(error).strip().splitlines()[-1]


def _match_blur(reference, warped, valid):
    """Blur each image, tile by tile, up to the blur of the other: the sharper one of each tile gets more blur.

    The extra blur of a tile is the one that maximises the two tiles' correlation, found on BLUR_SIGMAS and
    refined by a parabola through the best three; the tile values are interpolated into a smooth map.
    """
    height, width = reference.shape
    reference_levels, warped_levels = _blurred_levels(reference), _blurred_levels(warped)
    sigmas = np.asarray(BLUR_SIGMAS)
    signed_sigmas = np.concatenate([-sigmas[:0:-1], sigmas])  # negative: blur the warped slice instead
    pairs = [(reference_levels[0], warped_levels[i]) for i in range(len(sigmas) - 1, 0, -1)] + [
        (reference_levels[i], warped_levels[0]) for i in range(len(sigmas))
    ]
    rows = np.linspace(0, height, BLUR_TILES[0] + 1).astype(int)
    cols = np.linspace(0, width, BLUR_TILES[1] + 1).astype(int)
    tile_blur = np.zeros(BLUR_TILES, np.float32)
    for row in range(BLUR_TILES[0]):
        for col in range(BLUR_TILES[1]):
            tile = (slice(rows[row], rows[row + 1]), slice(cols[col], cols[col + 1]))
            inside = valid[tile]
            if inside.sum() >= MIN_TILE_PIXELS:
                scores = [_correlation(first[tile][inside], second[tile][inside]) for first, second in pairs]
                tile_blur[row, col] = _peak(signed_sigmas, np.array(scores))
    blur = cv2.resize(tile_blur, (width, height), interpolation=cv2.INTER_LINEAR)
    return _blend(reference_levels, np.maximum(blur, 0.0)), _blend(warped_levels, np.maximum(-blur, 0.0))


def _blurred_levels(grey):
    return [grey] + [cv2.GaussianBlur(grey, (0, 0), sigma) for sigma in BLUR_SIGMAS[1:]]


def _correlation(first, second):
    """Zero-mean normalised correlation, the quantity ECC maximises, so blur matching and ECC agree."""
    first, second = first - first.mean(), second - second.mean()
    norm = np.sqrt(float(first @ first) * float(second @ second))
    return float(first @ second) / norm if norm > 0 else -1.0


def _peak(positions, scores):
    """Sub-step position of the best score, so the matched blur is not limited to the BLUR_SIGMAS grid."""
    best = int(np.argmax(scores))
    if best in (0, len(scores) - 1):
        return positions[best]
    curvature, slope, _ = np.polyfit(positions[best - 1 : best + 2], scores[best - 1 : best + 2], 2)
    if curvature >= 0:
        return positions[best]
    return float(np.clip(-slope / (2 * curvature), positions[best - 1], positions[best + 1]))


def _blend(levels, sigma_map):
    """Per pixel, the linear blend of the two pre-blurred levels around that pixel's sigma."""
    position = np.interp(sigma_map, BLUR_SIGMAS, np.arange(len(BLUR_SIGMAS))).astype(np.float32)
    blended = np.zeros_like(levels[0])
    for index, level in enumerate(levels):
        weight = np.maximum(0.0, 1.0 - np.abs(position - index))
        if weight.any():
            blended += weight * level
    return blended


def _check_plausible(transform, shape):
    """Reject what breathing and hand shake cannot produce: a large scale change or a shift of the whole view."""
    height, width = shape
    corners = np.array([[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], float).T
    mapped = transform @ corners
    if np.any(mapped[2] <= 0):
        raise AlignmentFailure("the estimated transform folds the image over (implausible perspective)")
    x, y = mapped[:2] / mapped[2]
    area = 0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    scale = np.sqrt(area / (width * height)) if area > 0 else 0.0
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        raise AlignmentFailure(
            f"the estimated scale {scale:.3f} is outside {SCALE_RANGE[0]}..{SCALE_RANGE[1]} "
            "(implausible for focus breathing)"
        )
    centre = transform @ np.array([width / 2, height / 2, 1.0])
    shift = centre[:2] / centre[2] - (width / 2, height / 2)
    if abs(shift[0]) > MAX_SHIFT * width or abs(shift[1]) > MAX_SHIFT * height:
        raise AlignmentFailure(
            f"the estimated shift ({shift[0]:.1f}, {shift[1]:.1f}) px exceeds "
            f"{MAX_SHIFT:.0%} of the image size (implausible for camera motion)"
        )
