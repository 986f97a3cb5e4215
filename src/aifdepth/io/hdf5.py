"""HDF5 files: inputs opened with errors that name the file and the fix, outputs written whole."""

import contextlib
from pathlib import Path

import h5py

from ..errors import InputError
from .atomic import atomic_path


def open_hdf5(path, what: str, fix: str) -> h5py.File:
    """Open `path` read-only; `what` names the file kind, `fix` says what to do if it is absent or bad."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} not found; {fix}")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"{path}: not a readable HDF5 {what} ({err}); {fix}") from err


@contextlib.contextmanager
def new_hdf5(path):
    """An HDF5 file built in memory, then written to `path` atomically in one plain write. HDF5 writing
    to disk itself fails only on close when the disk fills, and then crashes the interpreter; a plain
    write fails with one OSError naming the file, and the partial file is removed."""
    with h5py.File(Path(path).name, "w", driver="core", backing_store=False) as f:
        yield f
        f.flush()
        image = f.id.get_file_image()
    with atomic_path(path) as tmp:
        tmp.write_bytes(image)
