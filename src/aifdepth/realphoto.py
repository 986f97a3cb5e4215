"""A real-photograph check: a Middlebury 2014 scene (Motorcycle, quarter size, with its GT
disparity) that scikit-image ships, defocused by the layered renderer into a 15-slice stack
in [10, 60], so models trained on the procedural RGB-D scenes meet real image statistics."""

from pathlib import Path

import numpy as np

from .errors import InputError
from .stackbuild import defocused_image
from .stackfile import FocalStacks, write_stacks

FOCUS_RANGE = (10.0, 60.0)
SLICES = 15
APERTURE = 0.15  # blur px per disparity unit, inside the [0.1, 0.2] of the rgbd training set


def motorcycle() -> tuple[np.ndarray, np.ndarray]:
    """(image (H, W, 3) uint8, disparity (H, W) float32 with inf = unknown)."""
    try:
        from skimage import data
    except ImportError as error:
        raise InputError(
            "the real-photograph check reads Middlebury's Motorcycle from scikit-image: pip install scikit-image"
        ) from error
    left, _, disparity = data.stereo_motorcycle()
    return np.ascontiguousarray(left), disparity.astype(np.float32)


def real_photo_stack(out, scale: float = 1.0, aperture: float = APERTURE) -> FocalStacks:
    """Write the stack file of the real scene; `scale` < 1 shrinks the image and its disparity alike."""
    import cv2

    image, disparity = motorcycle()
    if scale != 1.0:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        disparity = cv2.resize(disparity, size, interpolation=cv2.INTER_NEAREST) * np.float32(scale)
    focus = np.linspace(*FOCUS_RANGE, SLICES).astype(np.float32)
    stacks = defocused_image(
        image,
        disparity,
        focus,
        aperture,
        name="motorcycle",
        dataset="middlebury",
        source="real",
        params={"scale": scale, "image": "Middlebury 2014 Motorcycle (scikit-image data.stereo_motorcycle)"},
    )
    write_stacks(Path(out), stacks)
    return stacks
