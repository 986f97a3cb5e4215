"""8-bit RGB images (PNG, JPEG, TIFF) and EXR depth maps through OpenCV, RGB order."""

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from .atomic import atomic_path


def _imread(path: Path, flags: int, what: str) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our message says it, once
    try:
        image = cv2.imread(str(path), flags)
    finally:
        cv2.utils.logging.setLogLevel(level)
    if image is None:
        raise InputError(f"{path}: not a readable {what} (corrupt, truncated or unsupported format)")
    return image


def read_rgb(path, expected_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read an 8-bit colour image as (H,W,3) uint8 RGB; check its size when asked."""
    path = Path(path)
    image = _imread(path, cv2.IMREAD_COLOR, "image")
    if expected_shape is not None and image.shape[:2] != tuple(expected_shape):
        raise InputError(
            f"{path}: image is {image.shape[1]}x{image.shape[0]} (WxH) but "
            f"{expected_shape[1]}x{expected_shape[0]} was expected like the other images of its set"
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_rgb(path, image: np.ndarray, jpeg_quality: int = 95) -> None:
    """Write (H,W,3) uint8 RGB; the format follows the file extension."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{path}: expected (H,W,3) uint8 RGB, got {image.shape} {image.dtype}")
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if Path(path).suffix.lower() in (".jpg", ".jpeg") else []
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params):
            raise OSError(f"{path}: OpenCV could not write the image")


def read_exr_depth(path) -> np.ndarray:
    """Read a depth EXR (first channel if it has several) as (H,W) float32."""
    depth = _imread(Path(path), cv2.IMREAD_UNCHANGED, "EXR depth map")
    if depth.ndim == 3:
        depth = depth[..., 0]
    return depth.astype(np.float32, copy=False)


def read_one_channel(path, what: str) -> np.ndarray:
    """A one-channel map (disparity as 16-bit PNG, float TIFF or EXR, ...) as (H,W) float32."""
    path = Path(path)
    image = _imread(path, cv2.IMREAD_UNCHANGED, what)
    if image.ndim != 2:
        raise InputError(f"{path}: a {what} has one channel, this image has {image.shape[2]}")
    return image.astype(np.float32, copy=False)


def write_exr_depth(path, depth: np.ndarray) -> None:
    """Write depth as a 3-channel float32 EXR, the layout Blender writes for DefocusNet."""
    depth = np.asarray(depth, dtype=np.float32)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), np.repeat(depth[..., None], 3, axis=2)):
            raise OSError(f"{path}: OpenCV could not write the EXR")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0,1] to uint8 with rounding."""
    return np.clip(np.rint(np.asarray(image) * 255.0), 0, 255).astype(np.uint8)
