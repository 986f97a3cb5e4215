"""Where the real datasets come from and how their published files become `resources/{dataset}`
in the layout the readers expect: downloaded archives are unpacked, folders the user already
has are validated and linked."""

import os
import shutil
import zipfile
from pathlib import Path

from .datasets import open_dataset
from .datasets.spec import published_by as published
from .download import DownloadError, RemoteFile, fetch
from .errors import InputError
from .io.atomic import atomic_dir


def offline_hint(dataset: str) -> str:
    return (
        f"Or set `datasets.{dataset}.source: synthetic` in config.yaml: the embedded data needs no network, "
        f"or `source: manual` with `path:` pointing at a copy you already have."
    )


def download(dataset: str, name: str, out: Path, checksums: Path, mirror: str | None = None) -> Path:
    """Fetch one published file of a dataset into `out` (from `mirror`/name when given)."""
    source = published(dataset)
    remote = source.file(name) if source.files else RemoteFile(url="", name=name, page=source.page)
    if mirror:
        remote = remote.at_mirror(mirror)
    elif not remote.url and not Path(out).is_file():
        raise DownloadError(
            f"{dataset}: {name} is handed out on request at {source.page}; there is no public URL to fetch it from. "
            f"Fetch it there and place it at {out}, then run again (its SHA-256 is recorded on first use). "
            f"A mirror works too: `datasets.{dataset}.mirror: <URL of a folder holding {name}>`. {offline_hint(dataset)}"
        )
    return fetch(
        remote, Path(out), checksums=Path(checksums), key=f"{dataset}/{name}", offline_hint=offline_hint(dataset)
    )


def unpack(dataset: str, files: list[Path], out: Path) -> None:
    """Lay downloaded files out as `resources/{dataset}` and check the result before it appears."""
    files = [Path(f) for f in files]
    layout = published(dataset).unpacked
    with atomic_dir(out) as tmp:
        if layout is None:  # used as published (DDFF's HDF5 files)
            for path in files:
                _link(path, tmp / path.name)
        else:
            extracted = tmp / ".extracted"
            for path in files:
                _extract(path, extracted)
            for marker, target in layout:
                found = _find_folder(extracted, marker)
                if found is None:
                    raise InputError(
                        f"{', '.join(map(str, files))}: no folder with {marker} inside; "
                        f"are these the published {dataset} archives ({published(dataset).page})?"
                    )
                if target:
                    shutil.move(found, tmp / target)
                else:
                    for entry in found.iterdir():
                        shutil.move(entry, tmp / entry.name)
            shutil.rmtree(extracted)
        open_dataset(dataset, tmp).check_layout()


def link_manual(dataset: str, path: Path, out: Path) -> None:
    """Validate a folder the user already has and link its entries into `out` (no copy)."""
    path = Path(path).expanduser().resolve()
    if not path.is_dir():
        raise InputError(
            f"datasets.{dataset}.path: {path} is not a folder; point it at your copy of {dataset} "
            f"(the folder holding what {published(dataset).page} ships, unpacked)"
        )
    open_dataset(dataset, path).check_layout()
    with atomic_dir(out) as tmp:
        for entry in sorted(path.iterdir()):
            (tmp / entry.name).symlink_to(entry)


def _link(source: Path, target: Path) -> None:
    """A multi-GB file appears in the dataset folder without a copy."""
    target.symlink_to(os.path.relpath(source.resolve(), target.parent.resolve()))


def _extract(archive: Path, into: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)  # member names with '..' or a leading '/' are sanitised by zipfile
    except zipfile.BadZipFile as err:
        raise InputError(
            f"{archive}: not a readable zip archive ({err}); delete it and run again to download it anew"
        ) from err


def _find_folder(root: Path, marker: str) -> Path | None:
    """The shallowest folder under `root`, itself included, that holds `marker` (a relative path)."""
    folders = [root, *sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts))]
    return next((folder for folder in folders if (folder / marker).exists()), None)
