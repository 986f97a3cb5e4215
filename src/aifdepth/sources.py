"""Where the real datasets come from and how their published files become `resources/{dataset}`
in the layout the readers expect: downloaded archives are unpacked, folders the user already
has are validated and linked."""

import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .datasets import open_dataset
from .download import DownloadError, RemoteFile, fetch
from .errors import InputError
from .io.atomic import atomic_dir

DRIVE = "https://drive.google.com/uc?export=download&id="


@dataclass(frozen=True)
class Published:
    page: str  # where a person finds the data
    files: tuple[RemoteFile, ...]  # a file with no URL is handed out on request (a form on `page`)

    def file(self, name: str) -> RemoteFile:
        for remote in self.files:
            if remote.name == name:
                return remote
        raise InputError(f"no published file {name!r}; the files are {[f.name for f in self.files]}")


def _published(page: str, *files: tuple[str, str, int | None]) -> Published:
    return Published(page, tuple(RemoteFile(url=url, name=name, size=size, page=page) for name, url, size in files))


# No dataset publishes checksums: the first complete download records them (workflow/checksums.sha256).
PUBLISHED = {
    "hci": _published("https://lightfield-analysis.uni-konstanz.de", ("full_data.zip", "", None)),
    "ddff": _published(
        "https://hazirbas.com/datasets/ddff12scene/",
        (
            "ddff-dataset-trainval.h5",
            "https://vision.in.tum.de/webarchive/hazirbas/ddff12scene/ddff-dataset-trainval.h5",
            None,
        ),
        ("ddff-dataset-test.h5", "https://vision.in.tum.de/webarchive/hazirbas/ddff12scene/ddff-dataset-test.h5", None),
    ),
    "defocusnet": _published(
        "https://github.com/dvl-tum/defocus-net", ("fs_6.zip", DRIVE + "1bR-WZQf44s0nsScC27HiEwaXPyEQ3-Dw", None)
    ),
    "middlebury": _published(
        "https://vision.middlebury.edu/stereo/submit3/",
        ("MiddEval3-data-Q.zip", "https://vision.middlebury.edu/stereo/submit3/zip/MiddEval3-data-Q.zip", None),
        ("MiddEval3-GT0-Q.zip", "https://vision.middlebury.edu/stereo/submit3/zip/MiddEval3-GT0-Q.zip", None),
    ),
    # Two archives behind a form; their contents go into one folder (Aligned/, Photos/, calibration/).
    "mobiledepth": _published("https://www.supasorn.com/dffdownload.html"),
}
# Mobile Depth scenes with a calibration (the ones the paper shows); real data only.
MOBILEDEPTH_SCENES = (
    "GT",
    "GTLarge",
    "GTSmall",
    "balls",
    "bottles",
    "fruits",
    "keyboard",
    "metals",
    "plants",
    "telephone",
    "window",
)


def published(dataset: str) -> Published:
    if dataset not in PUBLISHED:
        raise InputError(f"dataset '{dataset}' has no published download; use `source: synthetic`")
    return PUBLISHED[dataset]


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
        remote = RemoteFile(
            url=f"{mirror.rstrip('/')}/{name}", name=name, sha256=remote.sha256, size=remote.size, page=source.page
        )
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
    with atomic_dir(out) as tmp:
        if dataset == "ddff":
            for path in files:
                _link(path, tmp / path.name)
        else:
            extracted = tmp / ".extracted"
            for path in files:
                _extract(path, extracted)
            for marker, target in UNPACKED_LAYOUT[dataset]:
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


# The folder to look for in the unpacked archives (by a path it holds) and its name under resources/{dataset}
# ("": its entries go to the top). Archives may wrap these in folders of their own (MiddEval3/, full_data/).
UNPACKED_LAYOUT = {
    "hci": [("training/boxes/parameters.cfg", "")],
    "defocusnet": [("000000Dpt.exr", "fs_6")],
    "middlebury": [("Adirondack/im0.png", "trainingQ")],
}


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
