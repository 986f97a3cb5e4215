"""Procedural colour textures for the synthetic scenes.

Depth from focus can only measure depth where the image has detail that defocus
destroys, so every kind except "weak" carries energy down to the pixel scale as
well as coarse structure. "weak" is the deliberate exception: it stands in for
walls, sky and painted surfaces, where focus cues vanish and a network has to
propagate depth from elsewhere. Several unrelated generators with random colour
palettes keep the network from learning one texture statistic.
"""

import colorsys

import cv2
import numpy as np

TEXTURE_KINDS = ("pink_noise", "marble", "wood", "cells", "fibres", "weak")
DETAILED_KINDS = tuple(kind for kind in TEXTURE_KINDS if kind != "weak")


def natural_texture(
    rng: np.random.Generator,
    height: int,
    width: int,
    kind: str | None = None,
    feature_size: float | None = None,
) -> np.ndarray:
    """Random texture, (height, width, 3) float32 RGB in [0, 1].

    kind=None draws one of DETAILED_KINDS. feature_size is the scale of the
    coarse structure in pixels (defaults to a quarter of the smaller side);
    callers that texture surfaces of different sizes pass one derived from the
    image so coarse structure looks alike on small and large surfaces.
    """
    if kind is None:
        kind = str(rng.choice(DETAILED_KINDS))
    if kind not in _GENERATORS:
        raise ValueError(f"unknown texture kind {kind!r}; expected one of {TEXTURE_KINDS}")
    if feature_size is None:
        feature_size = 0.25 * min(height, width)
    rgb = _GENERATORS[kind](rng, height, width, max(float(feature_size), 4.0))
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def add_weak_patch(
    rng: np.random.Generator,
    texture: np.ndarray,
    centre: tuple[float, float],
    radius: float,
) -> np.ndarray:
    """Fade a blob-shaped region of texture into its own smooth local mean.

    Real surfaces lose detail in patches (glare, shadow, a painted label), so a
    weak region inside a detailed surface is more natural than only whole
    textureless objects.
    """
    height, width = texture.shape[:2]
    rows, cols = np.ogrid[0:height, 0:width]
    d_row, d_col = rows - centre[0], cols - centre[1]
    boundary = radius * _wobbly_radius(rng, np.arctan2(d_row, d_col), max_wobble=0.2)
    falloff = 0.15 * radius
    mask = np.clip((boundary - np.hypot(d_row, d_col)) / falloff, 0.0, 1.0)
    mask = (mask * mask * (3.0 - 2.0 * mask))[..., None]
    smooth = cv2.GaussianBlur(texture, (0, 0), sigmaX=max(radius / 4.0, 1.0))
    local_mean = smooth.reshape(-1, 3).mean(axis=0)
    flattened = local_mean + rng.uniform(0.3, 0.6) * (smooth - local_mean)
    return (mask * flattened + (1.0 - mask) * texture).astype(np.float32)


def _wobbly_radius(rng: np.random.Generator, angle: np.ndarray, max_wobble: float) -> np.ndarray:
    """Relative radius 1 + sum of a few random low harmonics: an irregular but smooth outline."""
    harmonics = np.arange(2, 6)
    amplitudes = rng.uniform(0.0, 1.0, harmonics.size) / harmonics
    amplitudes *= max_wobble / amplitudes.sum()
    phases = rng.uniform(0.0, 2.0 * np.pi, harmonics.size)
    wobble = sum(a * np.cos(k * angle + p) for k, a, p in zip(harmonics, amplitudes, phases))
    return 1.0 + wobble


def _frequency_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column frequencies (cycles per pixel) of an rfft2 spectrum."""
    return np.fft.fftfreq(height)[:, None], np.fft.rfftfreq(width)[None, :]


def _filtered_noise(rng: np.random.Generator, height: int, width: int, amplitude: np.ndarray) -> np.ndarray:
    """White noise shaped by an rfft2-layout amplitude spectrum, standardised to zero mean, unit std."""
    spectrum = np.fft.rfft2(rng.standard_normal((height, width))) * amplitude
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(height, width))
    return field / (field.std() + 1e-12)


def _fractal_noise(
    rng: np.random.Generator, height: int, width: int, exponent: float, largest_scale: float
) -> np.ndarray:
    """Noise with amplitude spectrum 1/f**exponent (exponent 1: natural-image-like).

    The spectrum is flat below 1/largest_scale so a big texture is not one
    smooth gradient with the detail drowned.
    """
    freq_row, freq_col = _frequency_grid(height, width)
    radial = np.maximum(np.hypot(freq_row, freq_col), 1.0 / largest_scale)
    return _filtered_noise(rng, height, width, radial**-exponent)


def _oriented_noise(
    rng: np.random.Generator, height: int, width: int, angle: float, length: float, thickness: float
) -> np.ndarray:
    """Noise of streaks along `angle` (radians from the column axis), length and thickness in pixels."""
    freq_row, freq_col = _frequency_grid(height, width)
    along = freq_row * np.sin(angle) + freq_col * np.cos(angle)
    across = -freq_row * np.cos(angle) + freq_col * np.sin(angle)
    envelope = np.exp(-2.0 * np.pi**2 * ((along * length) ** 2 + (across * thickness) ** 2))
    return _filtered_noise(rng, height, width, envelope)


def _coordinate_along(height: int, width: int, angle: float) -> np.ndarray:
    """Signed distance in pixels along direction `angle` (radians from the column axis)."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    return rows * np.sin(angle) + cols * np.cos(angle)


def _to_unit(field: np.ndarray, spread: float = 2.5) -> np.ndarray:
    """Map a standardised field to [0, 1], clipping beyond +-spread std."""
    return np.clip(0.5 + field / (2.0 * spread), 0.0, 1.0)


def _random_palette(rng: np.random.Generator, n_colours: int) -> np.ndarray:
    """n_colours RGB colours ordered dark to light, usually of related hue like most real materials."""
    base_hue = rng.random()
    hues = (base_hue + rng.normal(0.0, 0.05, n_colours)) % 1.0 if rng.random() < 0.7 else rng.random(n_colours)
    saturations = rng.uniform(0.05, 0.65, n_colours)
    darkest = rng.uniform(0.05, 0.4)
    lightest = min(0.97, darkest + rng.uniform(0.4, 0.7))
    values = np.sort(rng.uniform(darkest, lightest, n_colours))
    values[0], values[-1] = darkest, lightest
    return np.array([colorsys.hsv_to_rgb(h, s, v) for h, s, v in zip(hues, saturations, values)])


def _colourise(rng: np.random.Generator, field01: np.ndarray, largest_scale: float) -> np.ndarray:
    """Map a [0, 1] field through a random palette and add a faint, smooth per-channel tint variation."""
    palette = _random_palette(rng, int(rng.integers(2, 5)))
    stops = np.linspace(0.0, 1.0, len(palette))
    rgb = np.stack([np.interp(field01, stops, palette[:, ch]) for ch in range(3)], axis=-1)
    height, width = field01.shape
    tint = np.stack([_fractal_noise(rng, height, width, 2.0, largest_scale) for _ in range(3)], axis=-1)
    return rgb * (1.0 + rng.uniform(0.02, 0.08) * tint)


def _pink_noise(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    field = _fractal_noise(rng, height, width, rng.uniform(0.8, 1.1), largest_scale=2.0 * scale)
    return _colourise(rng, _to_unit(field), 2.0 * scale)


def _marble(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """Cloudy stone crossed by turbulent bands, with thin sharp veins where the band phase crosses zero."""
    along = _coordinate_along(height, width, rng.uniform(0.0, np.pi))
    turbulence = _fractal_noise(rng, height, width, 2.5, largest_scale=2.0 * scale)
    phase = 2.0 * np.pi * along / (scale * rng.uniform(0.5, 1.5)) + rng.uniform(1.5, 4.0) * turbulence
    veins = np.abs(np.sin(phase)) ** rng.uniform(0.3, 0.6)
    clouds = _fractal_noise(rng, height, width, 1.2, largest_scale=2.0 * scale)
    grain = _fractal_noise(rng, height, width, 0.6, largest_scale=scale)
    field01 = np.clip(0.1 + 0.7 * veins + 0.1 * clouds + 0.06 * grain, 0.0, 1.0)
    return _colourise(rng, field01, 2.0 * scale)


def _wood(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """Elongated growth rings with a sawtooth profile (each ring ends in a sharp edge), grain fibres, slow tone."""
    grain_angle = rng.uniform(0.0, np.pi)
    along = _coordinate_along(height, width, grain_angle) - rng.uniform(-1.0, 2.0) * scale
    across = _coordinate_along(height, width, grain_angle + np.pi / 2) - rng.uniform(-1.0, 2.0) * scale
    ring_period = scale * rng.uniform(0.1, 0.3)
    warp = _fractal_noise(rng, height, width, 2.0, largest_scale=2.0 * scale)
    distance = np.hypot(along / rng.uniform(4.0, 10.0), across) + 0.6 * ring_period * warp
    rings = (distance / ring_period) % 1.0
    profile = rings ** rng.uniform(2.0, 5.0)
    fibres = _oriented_noise(rng, height, width, grain_angle, length=0.5 * scale, thickness=0.7)
    tone = _fractal_noise(rng, height, width, 1.5, largest_scale=2.0 * scale)
    field01 = np.clip(0.15 + 0.55 * (1.0 - profile) + 0.08 * fibres + 0.1 * tone, 0.0, 1.0)
    return _colourise(rng, field01, 2.0 * scale)


def _cells(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """Voronoi stones with their own shade, a slight dome and grain, separated by sharp mortar lines."""
    cell = scale * rng.uniform(0.15, 0.4)
    n_rows, n_cols = int(np.ceil(height / cell)) + 2, int(np.ceil(width / cell)) + 2
    # One jittered seed per grid cell, grid index shifted by one so every pixel's 3x3 neighbourhood exists.
    seed_row = (np.arange(n_rows)[:, None] - 1 + rng.random((n_rows, n_cols))) * cell
    seed_col = (np.arange(n_cols)[None, :] - 1 + rng.random((n_rows, n_cols))) * cell
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    grid_row, grid_col = (rows // cell).astype(int) + 1, (cols // cell).astype(int) + 1
    nearest = np.full((height, width), np.inf)
    second = np.full((height, width), np.inf)
    nearest_id = np.zeros((height, width), dtype=int)
    for offset_row in (-1, 0, 1):
        for offset_col in (-1, 0, 1):
            idx_row, idx_col = grid_row + offset_row, grid_col + offset_col
            dist = np.hypot(rows - seed_row[idx_row, idx_col], cols - seed_col[idx_row, idx_col])
            closer = dist < nearest
            second = np.where(closer, nearest, np.minimum(second, dist))
            nearest = np.where(closer, dist, nearest)
            nearest_id = np.where(closer, idx_row * n_cols + idx_col, nearest_id)
    shade = rng.random(n_rows * n_cols)[nearest_id]
    grain = _fractal_noise(rng, height, width, 0.7, largest_scale=cell)
    stone = 0.2 + 0.6 * shade + 0.08 * grain - 0.15 * nearest / cell
    mortar_width = rng.uniform(0.8, 2.5)
    solid = np.clip((second - nearest) / mortar_width, 0.0, 1.0)
    mortar_level = rng.choice([0.03, 0.95])
    field01 = np.clip(solid * stone + (1.0 - solid) * mortar_level, 0.0, 1.0)
    return _colourise(rng, field01, 2.0 * scale)


def _fibres(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """Thin streaks along one direction (hair, straw, brushed metal), sometimes woven into regular stripes."""
    angle = rng.uniform(0.0, np.pi)
    length, thickness = scale * rng.uniform(0.2, 1.0), rng.uniform(0.5, 1.2)
    streaks = _oriented_noise(rng, height, width, angle, length=length, thickness=thickness)
    coarse = _fractal_noise(rng, height, width, 1.5, largest_scale=2.0 * scale)
    field = streaks + 0.5 * coarse
    if rng.random() < 0.5:
        across = _coordinate_along(height, width, angle + np.pi / 2)
        stripe_period = rng.uniform(4.0, 12.0)
        field += 1.2 * np.sign(np.sin(2.0 * np.pi * across / stripe_period + 0.5 * coarse))
    return _colourise(rng, _to_unit(field / field.std()), 2.0 * scale)


def _weak(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """A low-contrast smooth gradient with gentle shading: no detail finer than the feature scale."""
    ramp = _coordinate_along(height, width, rng.uniform(0.0, 2.0 * np.pi))
    ramp = (ramp - ramp.mean()) / (ramp.std() + 1e-12)
    shading = _fractal_noise(rng, height, width, 3.0, largest_scale=2.0 * scale)
    contrast = rng.uniform(0.01, 0.04)
    relative = 1.0 + contrast * (0.6 * ramp + 0.4 * shading)
    base = 0.2 + 0.6 * _random_palette(rng, 1)[0]
    return base * relative[..., None]


_GENERATORS = {
    "pink_noise": _pink_noise,
    "marble": _marble,
    "wood": _wood,
    "cells": _cells,
    "fibres": _fibres,
    "weak": _weak,
}
