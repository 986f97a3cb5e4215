"""Procedural scenes of textured planes, and a light-field renderer with true occlusion.

All geometry lives in centre-view pixel coordinates: row r, column c, origin at
the top-left, pixel centres at integers. A surface is a plane in disparity,
d(r, c) = d0 + grad_r * (r - r0) + grad_c * (c - c0), cut out by a shape and
carrying a texture. Light-field convention: a point of disparity d at (r, c) in
the centre view appears at (r - du * d, c - dv * d) in the view offset by
(du, dv) (for a 9x9 grid du = u - 4, dv = v - 4); positive disparity is nearer.
Each view is rendered by inverting that map per surface and keeping the nearest
covering surface per pixel, so parallax, occlusion and disocclusion are
geometric rather than imitated by blur.

Nothing here assumes the disparity range is small or centred on zero: callers
use the same scenes with pixel disparities or inverse metric depth and render
only the centre view. Only light fields need small |d| (large disparity
gradients times large view offsets fold a plane over itself).
"""

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from aifdepth.synth.textures import DETAILED_KINDS, add_weak_patch, natural_texture

# Outermost view offset of the 9x9 grid: textures reach this times max|d| pixels beyond the image.
_MAX_VIEW_OFFSET = 4.0
# Extra texture pixels beyond the parallax margin, for the cubic kernel and rounding.
_TEXTURE_PAD = 4

Box = tuple[float, float, float, float]  # r_min, r_max, c_min, c_max (inclusive, centre coordinates)


@dataclass
class Ellipse:
    centre_r: float
    centre_c: float
    semi_axis_along: float
    semi_axis_across: float
    angle: float  # direction of semi_axis_along, radians from the column axis

    def contains(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        d_r, d_c = r - self.centre_r, c - self.centre_c
        along = d_c * np.cos(self.angle) + d_r * np.sin(self.angle)
        across = -d_c * np.sin(self.angle) + d_r * np.cos(self.angle)
        return (along / self.semi_axis_along) ** 2 + (across / self.semi_axis_across) ** 2 <= 1.0

    def bounds(self) -> Box:
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        half_rows = np.hypot(self.semi_axis_along * sin, self.semi_axis_across * cos)
        half_cols = np.hypot(self.semi_axis_along * cos, self.semi_axis_across * sin)
        return (
            self.centre_r - half_rows,
            self.centre_r + half_rows,
            self.centre_c - half_cols,
            self.centre_c + half_cols,
        )


@dataclass
class Polygon:
    vertices: np.ndarray  # (n, 2) of (r, c) in boundary order; may be non-convex

    def contains(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Even-odd rule: a point is inside if a ray towards -c crosses the boundary an odd number of times."""
        inside = np.zeros(np.broadcast_shapes(np.shape(r), np.shape(c)), dtype=bool)
        for (r1, c1), (r2, c2) in zip(self.vertices, np.roll(self.vertices, -1, axis=0)):
            if r1 == r2:
                continue  # a horizontal edge is never crossed by a horizontal ray
            straddles = (r1 > r) != (r2 > r)
            crossing_c = c1 + (r - r1) * (c2 - c1) / (r2 - r1)
            inside ^= straddles & (c < crossing_c)
        return inside

    def bounds(self) -> Box:
        (r_min, c_min), (r_max, c_max) = self.vertices.min(axis=0), self.vertices.max(axis=0)
        return (float(r_min), float(r_max), float(c_min), float(c_max))


@dataclass
class Blob:
    centre_r: float
    centre_c: float
    radius: float
    harmonic_amplitudes: np.ndarray  # relative amplitudes of boundary harmonics 2, 3, ...
    harmonic_phases: np.ndarray

    def contains(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        d_r, d_c = r - self.centre_r, c - self.centre_c
        angle = np.arctan2(d_r, d_c)
        relative = 1.0 + sum(
            amplitude * np.cos((2 + index) * angle + phase)
            for index, (amplitude, phase) in enumerate(zip(self.harmonic_amplitudes, self.harmonic_phases))
        )
        return np.hypot(d_r, d_c) <= self.radius * relative

    def bounds(self) -> Box:
        reach = self.radius * (1.0 + np.abs(self.harmonic_amplitudes).sum())
        return (self.centre_r - reach, self.centre_r + reach, self.centre_c - reach, self.centre_c + reach)


Shape = Ellipse | Polygon | Blob


@dataclass
class Surface:
    """A textured plane in disparity; shape None means it covers the whole plane (a background)."""

    texture: np.ndarray  # (h, w, 3) float32 in [0, 1]
    texture_origin: tuple[float, float]  # centre coordinates (r, c) of texture pixel [0, 0]
    d0: float
    grad_r: float = 0.0
    grad_c: float = 0.0
    r0: float = 0.0
    c0: float = 0.0
    shape: Shape | None = None

    def disparity(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return self.d0 + self.grad_r * (r - self.r0) + self.grad_c * (c - self.c0)

    def covers(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        if self.shape is None:
            return np.ones(np.broadcast_shapes(np.shape(r), np.shape(c)), dtype=bool)
        return self.shape.contains(r, c)

    def colour(self, r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Texture at centre coordinates (2-D arrays, as cv2.remap needs), bicubic and clipped to [0, 1]."""
        map_c = np.ascontiguousarray(c - self.texture_origin[1], dtype=np.float32)
        map_r = np.ascontiguousarray(r - self.texture_origin[0], dtype=np.float32)
        sampled = cv2.remap(self.texture, map_c, map_r, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
        return np.clip(sampled, 0.0, 1.0)

    def centre_coords(
        self, r_view: np.ndarray, c_view: np.ndarray, du: float, dv: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Centre coordinates of the plane point seen at (r_view, c_view) in view (du, dv).

        Solves r_view = r - du * d(r, c), c_view = c - dv * d(r, c), a 2x2
        linear system because d is affine.
        """
        determinant = 1.0 - du * self.grad_r - dv * self.grad_c
        if determinant <= 0.0:
            raise ValueError(
                f"view ({du}, {dv}) sees the plane with gradient ({self.grad_r}, {self.grad_c}) edge-on or from behind"
            )
        intercept = self.d0 - self.grad_r * self.r0 - self.grad_c * self.c0
        rhs_r = r_view + du * intercept
        rhs_c = c_view + dv * intercept
        r = ((1.0 - dv * self.grad_c) * rhs_r + du * self.grad_c * rhs_c) / determinant
        c = (dv * self.grad_r * rhs_r + (1.0 - du * self.grad_r) * rhs_c) / determinant
        return r, c

    def view_window(self, du: float, dv: float, height: int, width: int) -> tuple[slice, slice] | None:
        """Rows and columns of view (du, dv) the surface can cover; None if it misses the image.

        The view map is affine, so the image of the shape's bounding box is
        the parallelogram spanned by its mapped corners.
        """
        if self.shape is None:
            return slice(0, height), slice(0, width)
        r_min, r_max, c_min, c_max = self.shape.bounds()
        corner_r = np.array([r_min, r_min, r_max, r_max])
        corner_c = np.array([c_min, c_max, c_min, c_max])
        corner_d = self.disparity(corner_r, corner_c)
        view_r, view_c = corner_r - du * corner_d, corner_c - dv * corner_d
        row_start, row_stop = max(int(np.floor(view_r.min())), 0), min(int(np.ceil(view_r.max())) + 1, height)
        col_start, col_stop = max(int(np.floor(view_c.min())), 0), min(int(np.ceil(view_c.max())) + 1, width)
        if row_start >= row_stop or col_start >= col_stop:
            return None
        return slice(row_start, row_stop), slice(col_start, col_stop)


@dataclass
class Scene:
    """surfaces[0] is conventionally a whole-plane background, so every pixel of every view is covered."""

    height: int
    width: int
    surfaces: list[Surface]


def render_view(scene: Scene, du: float = 0.0, dv: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """RGB (H, W, 3) float32 in [0, 1] and disparity (H, W) float32 of view (du, dv).

    Per pixel the covering surface with the largest disparity (the nearest)
    wins. Pixels no surface covers stay black with disparity -inf.
    render_view(scene) is the all-in-focus centre view and its ground truth.
    """
    rgb = np.zeros((scene.height, scene.width, 3), dtype=np.float32)
    disparity = np.full((scene.height, scene.width), -np.inf, dtype=np.float32)
    for surface in scene.surfaces:
        window = surface.view_window(du, dv, scene.height, scene.width)
        if window is None:
            continue
        rows, cols = window
        r_view = np.arange(rows.start, rows.stop, dtype=np.float64)[:, None]
        c_view = np.arange(cols.start, cols.stop, dtype=np.float64)[None, :]
        r, c = surface.centre_coords(r_view, c_view, du, dv)
        r, c = np.broadcast_arrays(r, c)
        surface_disparity = surface.disparity(r, c)
        visible = surface.covers(r, c) & (surface_disparity > disparity[window])
        if not visible.any():
            continue
        disparity[window][visible] = surface_disparity[visible]
        rgb[window][visible] = surface.colour(r, c)[visible]
    return rgb, disparity


def render_lightfield(scene: Scene, grid: int = 9) -> np.ndarray:
    """(grid, grid, H, W, 3) float32 light field; view (u, v) is offset by (u - (grid-1)/2, v - (grid-1)/2)."""
    centre = (grid - 1) / 2.0
    lightfield = np.empty((grid, grid, scene.height, scene.width, 3), dtype=np.float32)
    for u, v in itertools.product(range(grid), range(grid)):
        lightfield[u, v] = render_view(scene, u - centre, v - centre)[0]
    return lightfield


def random_scene(
    rng: np.random.Generator,
    height: int,
    width: int,
    disparity_range: tuple[float, float],
    n_objects: int | None = None,
) -> Scene:
    """A background plane in the far part of disparity_range and n_objects (default 2..5) nearer occluders.

    Disparities in the centre view stay strictly inside the range and span
    most of it: the background starts just above the far end, the nearest
    object reaches just below the near end, and the objects in between sit in
    separate depth strata, each clear of the background, so every object
    outline is a depth edge. Planes are a mix of fronto-parallel and slanted
    (a slanted background is usually floor-like, nearer towards the bottom).
    Most scenes contain a weakly textured region (a "weak" object and/or a
    faded patch on the background) where focus cues are poor. Side views of a
    light field can show a slanted background slightly beyond the image
    border, where its disparity may leave the range by about 1% of its span.
    """
    far, near = float(disparity_range[0]), float(disparity_range[1])
    if not near > far:
        raise ValueError(f"disparity_range must be (far, near) with far < near, got {disparity_range}")
    if n_objects is None:
        n_objects = int(rng.integers(2, 6))
    span = near - far
    far_limit, near_limit = far + 0.02 * span, near - 0.02 * span
    size = min(height, width)
    margin = _MAX_VIEW_OFFSET * max(abs(far), abs(near)) + _TEXTURE_PAD
    texture_limits = (-margin, height - 1 + margin, -margin, width - 1 + margin)
    image_box = (0.0, height - 1.0, 0.0, width - 1.0)
    kinds = itertools.cycle(rng.permutation(DETAILED_KINDS))

    background_far = far_limit + rng.uniform(0.0, 0.04) * span
    background_near = background_far + (rng.uniform(0.12, 0.3) * span if rng.random() < 0.6 else 0.0)
    floor_like = rng.random() < 0.6
    rise_angle = np.pi / 2 + rng.normal(0.0, 0.2) if floor_like else rng.uniform(0.0, 2.0 * np.pi)
    background_kind = str(next(kinds))

    strata = np.linspace(background_near + 0.08 * span, near_limit, n_objects + 1)
    slanted = rng.random(n_objects) < 0.4
    if n_objects >= 2 and (slanted.all() or not slanted.any()):
        slanted[rng.integers(n_objects)] ^= True
    weak_object = int(rng.integers(n_objects)) if rng.random() < 0.5 else None
    objects = []
    for index in range(n_objects):
        nearest = index == n_objects - 1
        inset = 0.1 * (strata[index + 1] - strata[index])
        low, high = strata[index] + inset, strata[index + 1] - (0.0 if nearest else inset)
        shape = _random_shape(rng, height, width, size)
        if slanted[index]:
            extent = rng.uniform(0.4, 1.0) * (high - low)
            d_low = high - extent if nearest else rng.uniform(low, high - extent)
            d_high = d_low + extent
        else:
            d_low = d_high = high - rng.uniform(0.0, 0.03) * span if nearest else rng.uniform(low, high)
        # Fit over all the object could show in any view, so side views stay in range too.
        reachable = _intersect(shape.bounds(), texture_limits)
        plane = _plane_spanning(reachable, d_low, d_high, rng.uniform(0.0, 2.0 * np.pi))
        kind = "weak" if index == weak_object else str(next(kinds))
        texture, origin = _texture_over(rng, reachable, kind, size)
        objects.append(Surface(texture, origin, shape=shape, **plane))

    texture, origin = _texture_over(rng, texture_limits, background_kind, size)
    if rng.random() < 0.8:
        # Centre the faded patch where no object hides it, when such a spot is found.
        candidates = rng.uniform(0.15, 0.85, (20, 2)) * (height, width)
        exposed = [(r, c) for r, c in candidates if not any(obj.shape.contains(r, c) for obj in objects)]
        patch_r, patch_c = exposed[0] if exposed else candidates[0]
        patch_centre = (patch_r - origin[0], patch_c - origin[1])
        texture = add_weak_patch(rng, texture, patch_centre, rng.uniform(0.15, 0.3) * size)
    background = Surface(texture, origin, **_plane_spanning(image_box, background_far, background_near, rise_angle))
    return Scene(height, width, [background, *objects])


def _intersect(first: Box, second: Box) -> Box:
    return (max(first[0], second[0]), min(first[1], second[1]), max(first[2], second[2]), min(first[3], second[3]))


def _plane_spanning(box: Box, d_low: float, d_high: float, rise_angle: float) -> dict[str, float]:
    """Plane parameters whose disparity over box runs exactly from d_low to d_high.

    Disparity rises along rise_angle (radians from the column axis). An affine
    function reaches its extremes at the box corners, which is what the slope
    is fitted to.
    """
    r_min, r_max, c_min, c_max = box
    unit_r, unit_c = np.sin(rise_angle), np.cos(rise_angle)
    half_rise = 0.5 * (abs(unit_r) * (r_max - r_min) + abs(unit_c) * (c_max - c_min))
    slope = (d_high - d_low) / (2.0 * half_rise) if half_rise > 0 else 0.0
    return {
        "d0": float((d_low + d_high) / 2.0),
        "grad_r": float(slope * unit_r),
        "grad_c": float(slope * unit_c),
        "r0": float((r_min + r_max) / 2.0),
        "c0": float((c_min + c_max) / 2.0),
    }


def _texture_over(
    rng: np.random.Generator, box: Box, kind: str, image_size: int
) -> tuple[np.ndarray, tuple[float, float]]:
    """A texture covering box (plus the cubic kernel's reach) and its origin in centre coordinates."""
    r_start, c_start = int(np.floor(box[0])) - _TEXTURE_PAD, int(np.floor(box[2])) - _TEXTURE_PAD
    r_stop, c_stop = int(np.ceil(box[1])) + _TEXTURE_PAD + 1, int(np.ceil(box[3])) + _TEXTURE_PAD + 1
    feature_size = rng.uniform(0.12, 0.3) * image_size
    texture = natural_texture(rng, r_stop - r_start, c_stop - c_start, kind, feature_size)
    return texture, (float(r_start), float(c_start))


def _random_shape(rng: np.random.Generator, height: int, width: int, size: int) -> Shape:
    """An ellipse, a star-shaped (possibly non-convex) polygon or a smooth blob, sized relative to the image."""
    centre_r, centre_c = rng.uniform(0.1, 0.9) * height, rng.uniform(0.1, 0.9) * width
    radius = rng.uniform(0.1, 0.28) * size
    kind = rng.integers(3)
    if kind == 0:
        return Ellipse(centre_r, centre_c, radius, radius * rng.uniform(0.4, 1.0), rng.uniform(0.0, np.pi))
    if kind == 1:
        n_vertices = int(rng.integers(3, 9))
        jittered_steps = np.arange(n_vertices) + rng.uniform(-0.3, 0.3, n_vertices)
        angles = rng.uniform(0.0, 2.0 * np.pi) + 2.0 * np.pi * jittered_steps / n_vertices
        radii = radius * rng.uniform(0.55, 1.0, n_vertices)
        return Polygon(np.stack([centre_r + radii * np.sin(angles), centre_c + radii * np.cos(angles)], axis=1))
    n_harmonics = int(rng.integers(2, 5))
    amplitudes = rng.uniform(0.0, 1.0, n_harmonics) / np.arange(2, 2 + n_harmonics)
    amplitudes *= rng.uniform(0.15, 0.4) / amplitudes.sum()
    phases = rng.uniform(0.0, 2.0 * np.pi, n_harmonics)
    return Blob(centre_r, centre_c, radius / (1.0 + amplitudes.sum()), amplitudes, phases)
