"""Layered, occlusion-aware defocus of an RGB-D image into a focal stack (after Barron et al. 2015).

The scene is cut into fronto-parallel layers of nearly equal disparity. For each
slice the layers are blurred with a disc of radius aperture * |d - focus| and
composited from back (small disparity, far) to front (large disparity, near), so a
sharp foreground covers what is behind it and a blurred one spreads over it. Each
layer carries its own coverage (alpha) through the blur and the result is divided
by the accumulated coverage, so holes left by occluders don't darken the background.
"""

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from ..errors import InputError
from ..parallel import thread_count
from ..slices import focus_positions

# Largest blur-radius difference, in pixels, between adjacent layers when the layer
# width is chosen automatically; quantising depth then moves a blur edge by < 0.25 px.
_RADIUS_STEP = 0.5
# Below this radius a disc covers only its centre pixel: no blur.
_MIN_RADIUS = 0.5
# Kernels up to this width are applied directly (OpenCV), wider ones through an FFT,
# which is faster for them on 4-channel float images.
_DIRECT_KERNEL_WIDTH = 9


def defocus_stack(image, disparity, focus, aperture, *, layer_step=None) -> np.ndarray:
    """Render one slice per focus disparity; returns (S, H, W, 3) float32 in [0, 1].

    `aperture` is the blur radius in pixels per unit of |disparity - focus|, one value
    or one per slice. `layer_step` is the layer width in disparity units; by default
    it keeps adjacent layers' blur radii within half a pixel of each other.
    """
    image = _as_image(image)
    disparity = _fill_unknown(_as_disparity(disparity, image.shape[:2]))
    focus = focus_positions(focus)
    aperture = _as_aperture(aperture, len(focus))
    if layer_step is None:
        layer_step = _RADIUS_STEP / aperture.max() if aperture.max() > 0 else np.inf
    elif not (np.isfinite(layer_step) and layer_step > 0):
        raise InputError(f"layer_step must be a finite number > 0, got {layer_step}")

    layers = _Layers(disparity, layer_step)
    radii = aperture[:, None] * np.abs(layers.disparities[None, :] - focus[:, None])  # (slices, layers)
    sources = _LayerSources(image, layers, _reach(radii.max(axis=0)))
    for layer in np.flatnonzero(_reach(radii.max(axis=0)) * 2 + 1 > _DIRECT_KERNEL_WIDTH):
        sources.spectrum(layer)  # made before the threads share them
    # Slices are independent; FFTs and large numpy operations release the GIL.
    with ThreadPoolExecutor(max_workers=thread_count()) as pool:
        return np.stack(list(pool.map(lambda slice_radii: _render_slice(sources, slice_radii), radii)))


def _reach(radius):
    """How far a disc of this radius spreads a pixel (0 = no blur)."""
    return np.where(radius >= _MIN_RADIUS, np.ceil(radius + _MIN_RADIUS), 0).astype(int)


class _Layers:
    """Disparity quantised into layers, with each layer's bounding box (back to front)."""

    def __init__(self, disparity: np.ndarray, step: float):
        lowest = float(disparity.min())
        if np.isfinite(step):
            index = np.rint((disparity - lowest) / step).astype(np.int64)
        else:
            index = np.zeros(disparity.shape, np.int64)
        used = np.unique(index)
        self.index = np.searchsorted(used, index).astype(np.int32)  # layer of every pixel, 0 = farthest
        self.disparities = lowest + used * (step if np.isfinite(step) else 0.0)
        rows = ndimage.find_objects(self.index + 1)
        self.boxes = [(box[0].start, box[0].stop, box[1].start, box[1].stop) for box in rows]


class _LayerSources:
    """Each layer's premultiplied RGBA on its box grown by the largest reach of any
    slice, and (lazily) its spectrum: both serve every slice, so they are made once.
    The RGBA is kept (H, W, 4) for OpenCV's small kernels and read channel-first for the
    FFTs, whose blurred layers come out channel-first: compositing then runs over long
    rows instead of 4-element pixels (1.7x faster, the same values)."""

    def __init__(self, image: np.ndarray, layers: _Layers, max_reach: np.ndarray):
        height, width = layers.index.shape
        self.shape = (height, width)
        self.boxes, self.rgba, self.max_reach, self._spectra = [], [], max_reach, {}
        for layer, (top, bottom, left, right) in enumerate(layers.boxes):
            reach = max_reach[layer]
            box = (max(top - reach, 0), min(bottom + reach, height), max(left - reach, 0), min(right + reach, width))
            mask = layers.index[box[0] : box[1], box[2] : box[3]] == layer
            rgba = np.empty((*mask.shape, 4), np.float32)
            np.multiply(image[box[0] : box[1], box[2] : box[3]], mask[..., None], out=rgba[..., :3])
            rgba[..., 3] = mask
            self.boxes.append(box)
            self.rgba.append(rgba)

    def spectrum(self, layer: int) -> tuple[np.ndarray, tuple[int, int]]:
        """(4, ky, kx) rfft2 of the layer zero-padded by its largest reach, and the padded shape."""
        if layer not in self._spectra:
            rgba, pad = self.rgba[layer], self.max_reach[layer]
            shape = tuple(sfft.next_fast_len(n + 2 * pad, real=True) for n in rgba.shape[:2])
            self._spectra[layer] = (
                sfft.rfft2(rgba.transpose(2, 0, 1), s=shape, axes=(1, 2), workers=thread_count()),
                shape,
            )
        return self._spectra[layer]


def _render_slice(sources: _LayerSources, radii: np.ndarray) -> np.ndarray:
    """Composite the blurred layers back to front, colour premultiplied by coverage."""
    accumulated = np.zeros((4, *sources.shape), np.float32)  # premultiplied colour, coverage
    for layer, radius in enumerate(radii):
        top, bottom, left, right = sources.boxes[layer]
        blurred = _blur(sources, layer, radius)
        window = accumulated[:, top:bottom, left:right]
        window *= 1.0 - blurred[3:]
        window += blurred
    colour, coverage = accumulated[:3], accumulated[3:]
    np.divide(colour, coverage, out=colour, where=coverage > 0)
    return np.clip(colour, 0.0, 1.0).transpose(1, 2, 0)


def _blur(sources: _LayerSources, layer: int, radius: float) -> np.ndarray:
    """The layer's RGBA convolved with a disc (zero outside its box), (4, h, w)."""
    rgba = sources.rgba[layer]
    if radius < _MIN_RADIUS:
        return rgba.transpose(2, 0, 1)
    kernel = _disc_kernel(radius)
    if len(kernel) <= _DIRECT_KERNEL_WIDTH:
        return cv2.filter2D(rgba, -1, kernel, borderType=cv2.BORDER_CONSTANT).transpose(2, 0, 1)
    spectrum, shape = sources.spectrum(layer)
    height, width = rgba.shape[:2]
    half = len(kernel) // 2
    # Centre the kernel at the origin (wrapping) so the result needs no offset.
    centred = np.zeros(shape, np.float32)
    centred[: half + 1, : half + 1] = kernel[half:, half:]
    centred[: half + 1, -half:] = kernel[half:, :half]
    centred[-half:, : half + 1] = kernel[:half, half:]
    centred[-half:, -half:] = kernel[:half, :half]
    # One FFT worker: the slices already run on every thread.
    full = sfft.irfft2(spectrum * sfft.rfft2(centred), s=shape, axes=(1, 2))
    return full[:, :height, :width]


def _disc_kernel(radius: float) -> np.ndarray:
    """Normalised disc whose edge pixels are weighted by how far the rim passes through them."""
    half = int(np.ceil(radius + _MIN_RADIUS))
    offsets = np.arange(-half, half + 1, dtype=np.float32)
    distance = np.hypot(offsets[:, None], offsets[None, :])
    kernel = np.clip(radius + 0.5 - distance, 0.0, 1.0)
    return (kernel / kernel.sum()).astype(np.float32)


def _as_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"image must have shape (H, W, 3), got {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / np.float32(255)
    return image.astype(np.float32, copy=False)


def _as_disparity(disparity, image_size) -> np.ndarray:
    disparity = np.asarray(disparity, dtype=np.float64)
    if disparity.shape != tuple(image_size):
        raise InputError(
            f"disparity has shape {disparity.shape} but the image is {tuple(image_size)} (H, W); they must match"
        )
    return disparity


def _fill_unknown(disparity: np.ndarray) -> np.ndarray:
    """Give NaN/inf pixels the disparity of the nearest known pixel."""
    known = np.isfinite(disparity)
    if known.all():
        return disparity
    if not known.any():
        raise InputError("disparity has no finite value; cannot place any pixel in depth")
    nearest = ndimage.distance_transform_edt(~known, return_distances=False, return_indices=True)
    return disparity[tuple(nearest)]


def _as_aperture(aperture, slices: int) -> np.ndarray:
    aperture = np.asarray(aperture, dtype=np.float64)
    if aperture.ndim == 0:
        aperture = np.full(slices, float(aperture))
    elif aperture.ndim != 1 or aperture.size != slices:
        raise InputError(f"aperture must be one number or one per focus value ({slices}), got shape {aperture.shape}")
    if not np.all(np.isfinite(aperture)) or np.any(aperture < 0):
        raise InputError(f"aperture must be finite and >= 0, got {aperture.tolist()}")
    return aperture
