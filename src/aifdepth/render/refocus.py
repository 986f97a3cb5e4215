"""Shift-and-add refocusing of a U x V light field into a focal stack.

Convention: a point of disparity d at (r, c) in the centre view appears at
(r - du * d, c - dv * d) in the view offset by (du, dv) = (u - c_u, v - c_v) from
the centre. Refocusing at d averages, over all views, each view sampled at those
coordinates. Views are shifted by a Fourier phase ramp (periodic boundary), each
shifted view is clipped to [0, 1], and the clipped views are averaged.

`refocus_reference` does exactly that, view by view. `refocus` gets the same
result much faster: the average of the unclipped views is linear in the view
spectra, so it is summed in the Fourier domain with one inverse FFT per slice.
Clipping differs from that only where a shifted view rings outside [0, 1] (hard
edges next to saturated or black pixels, and the wrap-around edge at the image
border); those places are found in each input view, and their clipped-off excess is
added back: from small windows around them, cut once per view and shifted in the Fourier
domain for every slice, or from the whole shifted view where its windows would cost more.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft as sfft

from ..errors import InputError
from ..parallel import thread_count
from ..slices import focus_positions

# Tile size and window padding of the clipping correction. The padding bounds the
# error of the windowed shift (the Fourier kernel's tail beyond it is ignored) to
# well under a grey level after averaging over the views.
_TILE = 32
_PAD = 8
# Cell size of the out-of-range test; _TILE is a multiple of it.
_CELL = 8
# A half-pixel Fourier shift overshoots a jump by up to ~14 % of it (Gibbs).
_OVERSHOOT = 0.14
# Samples this close to 0 or 1 count as at the limit (saturated areas ring across it).
_RANGE_MARGIN = 0.5 / 255
# Predicted overshoot beyond 0 or 1 that is ignored: one view clipped by this much
# moves the 81-view average by 0.03 grey levels, and the prediction is an upper bound.
_IGNORED_OVERSHOOT = 0.01
# Correction windows transformed per batch (bounds the memory of the batch).
_WINDOW_BATCH = 512
# A whole view is shifted instead of its windows once its windows hold this many times its
# pixels (per slice, a window and the whole view each cost one inverse FFT).
_WHOLE_VIEW_RATIO = 0.5
# Whole views shifted per batch (bounds the memory of the batch).
_VIEW_BATCH = 16


def _as_views(views) -> np.ndarray:
    views = np.asarray(views)
    if views.ndim != 5 or views.shape[-1] != 3:
        raise InputError(f"views must have shape (U, V, H, W, 3), got {views.shape}")
    grid_rows, grid_cols = views.shape[:2]
    if grid_rows % 2 == 0 or grid_cols % 2 == 0:
        raise InputError(f"the view grid must have odd sizes to have a centre view, got {grid_rows}x{grid_cols}")
    if views.dtype == np.uint8:
        return views.astype(np.float32) / np.float32(255)
    return views.astype(np.float32, copy=False)


def _view_offsets(size: int) -> np.ndarray:
    return np.arange(size) - (size - 1) / 2


def refocus_reference(views, disparities) -> np.ndarray:
    """Ground truth: shift every view for every slice in double precision, clip, average."""
    views = _as_views(views)
    disparities = focus_positions(disparities, "disparities")
    grid_rows, grid_cols, height, width, _ = views.shape
    freq_rows = sfft.fftfreq(height)[:, None, None]
    freq_cols = sfft.fftfreq(width)[None, :, None]
    stack = np.zeros((len(disparities), height, width, 3))
    for s, disparity in enumerate(disparities):
        for u, du in enumerate(_view_offsets(grid_rows)):
            for v, dv in enumerate(_view_offsets(grid_cols)):
                ramp = np.exp(-2j * np.pi * (freq_rows * du * disparity + freq_cols * dv * disparity))
                spectrum = sfft.fft2(views[u, v].astype(np.float64), axes=(0, 1), workers=thread_count()) * ramp
                shifted = sfft.ifft2(spectrum, axes=(0, 1), workers=thread_count()).real
                stack[s] += np.clip(shifted, 0.0, 1.0)
    return (stack / (grid_rows * grid_cols)).astype(np.float32)


def refocus(views, disparities) -> np.ndarray:
    """Fast equivalent of `refocus_reference` (within one grey level almost everywhere)."""
    views = _as_views(views)
    disparities = focus_positions(disparities, "disparities")
    stack = _mean_of_shifted_views(views, disparities)
    _add_clipping_correction(stack, views, disparities)
    return np.clip(stack, 0.0, 1.0, out=stack)


def _mean_of_shifted_views(views: np.ndarray, disparities: np.ndarray) -> np.ndarray:
    """Unclipped view average per slice, summed in the Fourier domain.

    The phase ramp of view (u, v) factors into a row part a_u(ky) and a column part
    b_v(kx): summing a grid row over v is a matrix product batched over kx, and the
    rows are then weighted by a_u and added. Working one grid row and one channel at
    a time keeps every buffer near 10 MB, so they are reused instead of re-faulted.
    """
    grid_rows, grid_cols, height, width, _ = views.shape
    half_width = width // 2 + 1
    slices = len(disparities)
    row_ramps = np.exp(
        -2j
        * np.pi
        * disparities[:, None, None]
        * _view_offsets(grid_rows)[None, :, None]
        * sfft.fftfreq(height)[None, None, :]
    ).astype(np.complex64)  # (S, U, ky)
    col_ramps = np.exp(
        -2j
        * np.pi
        * disparities[:, None, None]
        * _view_offsets(grid_cols)[None, :, None]
        * sfft.rfftfreq(width)[None, None, :]
    ).astype(np.complex64)  # (S, V, kx)
    col_ramps_by_kx = np.ascontiguousarray(col_ramps.transpose(2, 0, 1))  # (kx, S, V)
    stack = np.empty((slices, height, width, 3), np.float32)

    def sum_channel(channel):  # channels are independent: one per thread, one FFT worker each
        row_spectra_by_kx = np.empty((half_width, grid_cols, height), np.complex64)
        row_sum = np.empty((half_width, slices, height), np.complex64)
        slice_spectra = np.zeros((half_width, slices, height), np.complex64)
        for u in range(grid_rows):
            spectra = sfft.rfft2(views[u, ..., channel])  # (V, ky, kx)
            np.copyto(row_spectra_by_kx, spectra.transpose(2, 0, 1))
            np.matmul(col_ramps_by_kx, row_spectra_by_kx, out=row_sum)
            row_sum *= row_ramps[:, u, :]
            slice_spectra += row_sum
        stack[..., channel] = sfft.irfft2(slice_spectra.transpose(1, 2, 0), s=(height, width), axes=(1, 2))

    with ThreadPoolExecutor(max_workers=thread_count()) as pool:
        list(pool.map(sum_channel, range(3)))
    stack /= grid_rows * grid_cols
    return stack


def _add_clipping_correction(stack: np.ndarray, views: np.ndarray, disparities: np.ndarray) -> None:
    """Add mean_v(clip(y_v) - y_v) to the unclipped mean, for every view y_v that may leave [0, 1].

    Views that stay inside [0, 1] add nothing, so only the tiles of each view that
    `_risky_cells` flags are shifted again: as small padded windows cut once per view in its
    own coordinates (their spectra serve every slice), or as the whole view where its
    windows would cost more (on textures that reach 0 or 1, most of them).
    """
    grid_rows, grid_cols, height, width, _ = views.shape
    flat_views = views.reshape(grid_rows * grid_cols, height, width, 3)
    tiles = _RiskyTiles(flat_views)
    whole = tiles.per_view * (_TILE + 2 * _PAD) ** 2 >= _WHOLE_VIEW_RATIO * height * width
    tiles.cut_windows(whole)
    whole_ids = np.flatnonzero(whole)
    whole_views = _WholeViewShifts(flat_views, whole_ids)
    offset_rows = np.repeat(_view_offsets(grid_rows), grid_cols)
    offset_cols = np.tile(_view_offsets(grid_cols), grid_rows)

    def correct(s):  # slices are independent: one per thread, one FFT worker each
        shift_rows, shift_cols = offset_rows * disparities[s], offset_cols * disparities[s]
        clipped_off = tiles.clipped_off(shift_rows, shift_cols)
        if len(whole_ids):
            clipped_off += whole_views.clipped_off(whole_ids, shift_rows[whole_ids], shift_cols[whole_ids])
        stack[s] += clipped_off / len(flat_views)

    with ThreadPoolExecutor(max_workers=thread_count()) as pool:
        list(pool.map(correct, range(len(disparities))))


class _RiskyTiles:
    """The _TILE x _TILE tiles of each view that hold a risky cell, with the spectra of their
    padded windows (wrapping around the border, as the FFT does), made once for all slices.

    Shifted by (whole + frac), a tile at q lands at q + whole: the window is shifted by the
    fraction in the Fourier domain and its core added there, so every output sample comes from
    exactly one tile of each view.
    """

    def __init__(self, flat_views: np.ndarray):
        count, height, width, _ = flat_views.shape
        self.shape = (height, width)
        cells = _risky_cells(flat_views)
        per_tile = _TILE // _CELL
        tile_rows, tile_cols = -(-cells.shape[1] // per_tile), -(-cells.shape[2] // per_tile)
        padded = np.zeros((count, tile_rows * per_tile, tile_cols * per_tile), bool)
        padded[:, : cells.shape[1], : cells.shape[2]] = cells
        risky = padded.reshape(count, tile_rows, per_tile, tile_cols, per_tile).any(axis=(2, 4))
        self.view, rows, cols = np.nonzero(risky)
        self.rows, self.cols = rows * _TILE, cols * _TILE
        self.per_view = np.bincount(self.view, minlength=count)
        self.flat_views = flat_views
        self.spectra = None  # made by cut_windows, once the views shifted whole are known
        size = _TILE + 2 * _PAD
        self.freq_rows = sfft.fftfreq(size).astype(np.float32)
        self.freq_cols = sfft.rfftfreq(size).astype(np.float32)

    def cut_windows(self, skipped_views: np.ndarray) -> None:
        """Cut and transform the windows of every view but the skipped ones (shifted whole instead)."""
        keep = ~skipped_views[self.view]
        self.view, self.rows, self.cols = self.view[keep], self.rows[keep], self.cols[keep]
        size = _TILE + 2 * _PAD
        height, width = self.shape
        rows = (self.rows[:, None] - _PAD + np.arange(size)) % height
        cols = (self.cols[:, None] - _PAD + np.arange(size)) % width
        windows = self.flat_views[self.view[:, None, None], rows[:, :, None], cols[:, None, :]]
        # Channel-first from here: the per-slice products and sums then run over long rows.
        self.spectra = np.ascontiguousarray(
            sfft.rfft2(windows, axes=(1, 2), workers=thread_count()).transpose(0, 3, 1, 2)
        )

    def clipped_off(self, shift_rows: np.ndarray, shift_cols: np.ndarray) -> np.ndarray:
        """Sum over the kept views of clip(y) - y, y the view shifted by (shift_rows, shift_cols)."""
        height, width = self.shape
        canvas = np.zeros((3, height + _TILE, width + _TILE), np.float32)
        size = _TILE + 2 * _PAD
        whole_rows, whole_cols = np.round(shift_rows).astype(np.int64), np.round(shift_cols).astype(np.int64)
        frac_rows = (shift_rows - whole_rows)[self.view]
        frac_cols = (shift_cols - whole_cols)[self.view]
        to_rows = (self.rows + whole_rows[self.view]) % height
        to_cols = (self.cols + whole_cols[self.view]) % width
        for start in range(0, len(self.view), _WINDOW_BATCH):
            batch = slice(start, start + _WINDOW_BATCH)
            ramp_rows = np.exp(-2j * np.pi * frac_rows[batch, None] * self.freq_rows).astype(np.complex64)
            ramp_cols = np.exp(-2j * np.pi * frac_cols[batch, None] * self.freq_cols).astype(np.complex64)
            spectra = self.spectra[batch] * (ramp_rows[:, :, None] * ramp_cols[:, None, :])[:, None]
            core = sfft.irfft2(spectra, s=(size, size), axes=(2, 3))[:, :, _PAD : _PAD + _TILE, _PAD : _PAD + _TILE]
            excess = np.clip(core, 0.0, 1.0) - core
            for k, (source_row, source_col, row, col) in enumerate(
                zip(self.rows[batch], self.cols[batch], to_rows[batch], to_cols[batch])
            ):
                # Tiles at the bottom or right edge are cut where the view ends.
                rows, cols = min(_TILE, height - source_row), min(_TILE, width - source_col)
                canvas[:, row : row + rows, col : col + cols] += excess[k, :, :rows, :cols]
        # What went past the border wraps around (a tile lands less than one view size past it).
        canvas[:, : min(_TILE, height)] += canvas[:, height : height + min(_TILE, height)]
        canvas[:, :, : min(_TILE, width)] += canvas[:, :, width : width + min(_TILE, width)]
        return canvas[:, :height, :width].transpose(1, 2, 0)


class _WholeViewShifts:
    """Exact clipped-off excess of whole shifted views; each view's spectrum is computed once,
    up front, so that the slices' threads only read them."""

    def __init__(self, flat_views: np.ndarray, view_index: np.ndarray):
        self.shape = flat_views.shape[1:3]
        self.spectra = {view: sfft.rfft2(flat_views[view], axes=(0, 1), workers=thread_count()) for view in view_index}
        self.freq_rows = sfft.fftfreq(self.shape[0])
        self.freq_cols = sfft.rfftfreq(self.shape[1])

    def clipped_off(self, view_index, shift_rows, shift_cols) -> np.ndarray:
        """Sum over the given views of clip(y) - y, y the view shifted by (shift_rows, shift_cols)."""
        height, width = self.shape
        total = np.zeros((height, width, 3), np.float32)
        for start in range(0, len(view_index), _VIEW_BATCH):
            batch = slice(start, start + _VIEW_BATCH)
            spectra = np.stack([self.spectra[view] for view in view_index[batch]])
            ramp_rows = np.exp(-2j * np.pi * shift_rows[batch, None] * self.freq_rows).astype(np.complex64)
            ramp_cols = np.exp(-2j * np.pi * shift_cols[batch, None] * self.freq_cols).astype(np.complex64)
            spectra *= (ramp_rows[:, :, None] * ramp_cols[:, None, :])[..., None]
            shifted = sfft.irfft2(spectra, s=(height, width), axes=(1, 2))
            total += (np.clip(shifted, 0.0, 1.0) - shifted).sum(axis=0)
        return total


def _risky_cells(flat_views: np.ndarray) -> np.ndarray:
    """(views, cell rows, cell cols) bool: True where a sample of the view, shifted by at most
    half a pixel, may leave [0, 1].

    A sub-pixel shift keeps a sample within the range of its neighbourhood, widened by
    the overshoot of the jumps between neighbouring samples there. Neighbourhoods wrap
    around the image border because the FFT sees the view as periodic, which also
    makes the border a jump.
    """
    count, height, width, _ = flat_views.shape
    cell_rows, cell_cols = -(-height // _CELL), -(-width // _CELL)
    highest = np.empty((count, cell_rows, cell_cols), np.float32)
    lowest, jump = np.empty_like(highest), np.empty_like(highest)
    pad = ((0, cell_rows * _CELL - height), (0, cell_cols * _CELL - width), (0, 0))

    def per_cell(image, reduce):  # over each cell and channel; partial cells at the edge are cells too
        cells = np.pad(image, pad, mode="edge") if any(p[1] for p in pad) else image
        rows = reduce(cells.reshape(cell_rows, _CELL, cell_cols * _CELL * 3), axis=1)  # contiguous rows first
        return reduce(rows.reshape(cell_rows, cell_cols, _CELL * 3), axis=2)

    def measure(views: range):  # a share of the views per thread
        # Buffers reused for every view: fresh view-sized arrays cost more in page faults than in sums.
        row_jumps, col_jumps = np.empty_like(flat_views[0]), np.empty_like(flat_views[0])
        for index in views:
            view = flat_views[index]
            highest[index] = per_cell(view, np.max)
            lowest[index] = per_cell(view, np.min)
            np.subtract(view, np.roll(view, 1, axis=0), out=row_jumps)
            np.subtract(view, np.roll(view, 1, axis=1), out=col_jumps)
            np.maximum(np.abs(row_jumps, out=row_jumps), np.abs(col_jumps, out=col_jumps), out=row_jumps)
            jump[index] = per_cell(row_jumps, np.max)

    threads = thread_count()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(measure, (range(k, count, threads) for k in range(threads))))
    highest, lowest, jump = (_periodic_max(a, 3) for a in (highest, -lowest, jump))
    lowest = -lowest
    overshoot = _OVERSHOOT * jump - _IGNORED_OVERSHOOT
    at_limit = (highest > 1 - _RANGE_MARGIN) | (lowest < _RANGE_MARGIN)
    return at_limit | (highest + overshoot > 1) | (lowest - overshoot < 0)


def _periodic_max(cells: np.ndarray, size: int) -> np.ndarray:
    """Maximum over the size x size cells centred on each cell of the last two axes, wrapping around."""
    result = cells
    for axis in (-2, -1):
        result = np.maximum.reduce([np.roll(result, size // 2 - k, axis=axis) for k in range(size)])
    return result
