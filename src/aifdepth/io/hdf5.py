"""Opening HDF5 inputs with errors that name the file and the fix."""

from pathlib import Path

import h5py

from ..errors import InputError


def open_hdf5(path, what: str, fix: str) -> h5py.File:
    """Open `path` read-only; `what` names the file kind, `fix` says what to do if it is absent or bad."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} not found; {fix}")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"{path}: not a readable HDF5 {what} ({err}); {fix}") from err
