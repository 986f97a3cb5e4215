"""Atomic outputs: a file appears under its final name only once it is complete."""

import contextlib
import glob
import os
import shutil
import tempfile
from pathlib import Path

TEMP_NAME_CHARS = 8  # the random part of tempfile.mkstemp's names


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path` (same suffix, so format detection by
    extension still works); rename it onto `path` only if the block succeeds. Part files of
    the same target left by a killed process (no `finally` runs on SIGKILL) are removed
    first: one target has one writer at a time here (Snakemake never runs two jobs with the
    same output)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = f".{path.stem}.", f".part{path.suffix}"
    for stale in path.parent.glob(f"{glob.escape(prefix)}{'?' * TEMP_NAME_CHARS}{glob.escape(suffix)}"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        if err.filename is None or err.filename == str(tmp):  # name the output, not the part file
            raise OSError(err.errno, err.strerror or str(err), str(path)) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary directory beside `path`; it replaces `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
