"""PFM (Portable Float Map) through OpenCV, with diagnostics OpenCV does not give.

PFM stores rows bottom-to-top and a negative scale for little-endian data; OpenCV
handles both. Colour PFMs come back from OpenCV as BGR and are swapped to RGB here.
"""

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from .atomic import atomic_path


def _diagnose(path: Path) -> str:
    """Say why OpenCV rejected a PFM: bad magic, bad header, or truncated data."""
    raw = path.read_bytes()
    fields = raw.split(maxsplit=4)
    if len(fields) < 4 or fields[0] not in (b"Pf", b"PF"):
        return "not a PFM file (expected a 'Pf' or 'PF' header)"
    try:
        width, height, scale = int(fields[1]), int(fields[2]), float(fields[3])
    except ValueError:
        return "malformed PFM header (width, height and scale must be numbers)"
    if width <= 0 or height <= 0 or scale == 0:
        return f"malformed PFM header (width={width}, height={height}, scale={scale})"
    header_len = raw.index(fields[3]) + len(fields[3]) + 1
    expected = width * height * (3 if fields[0] == b"PF" else 1) * 4
    found = len(raw) - header_len
    if found < expected:
        return f"truncated PFM: {width}x{height} needs {expected} data bytes, found {found}"
    return "unreadable PFM data"


def read_pfm(path) -> np.ndarray:
    """Read a PFM as float32, (H,W) for 'Pf' and (H,W,3) RGB for 'PF', top row first."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    with open(path, "rb") as f:
        magic = f.read(2)
    try:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if magic in (b"Pf", b"PF") else None
    except cv2.error:  # OpenCV asserts on some malformed headers instead of returning None
        image = None
    if image is None:
        raise InputError(f"{path}: {_diagnose(path)}; re-create or re-download this file")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image.astype(np.float32, copy=False)


def write_pfm(path, image: np.ndarray) -> None:
    """Write a (H,W) or (H,W,3) RGB float map as little-endian PFM, atomically."""
    image = np.ascontiguousarray(image, dtype=np.float32)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), image):
            raise OSError(f"{path}: OpenCV could not write the PFM")
