"""One spec per dataset: everything the rest of the package (config schema, CLI, workflow,
metrics, synthesis, downloads) knows about a dataset besides reading it. Adding a dataset is
a reader module in this package plus its entry in SPECS.

Light on purpose (no OpenCV, h5py or torch): the workflow and `aifdepth --help` import it."""

import importlib
from dataclasses import dataclass

from ..download import RemoteFile
from ..errors import InputError


@dataclass(frozen=True)
class Published:
    page: str  # where a person finds the data
    files: tuple[RemoteFile, ...] = ()  # a file with no URL is handed out on request (a form on `page`)
    # After unpacking the archives: the folder to look for (by a path it holds) and its name in the
    # dataset folder ("": its entries go to the top); None: the published files are used as they are.
    unpacked: tuple[tuple[str, str], ...] | None = None

    def file(self, name: str) -> RemoteFile:
        for remote in self.files:
            if remote.name == name:
                return remote
        raise InputError(f"no published file {name!r}; the files are {[f.name for f in self.files]}")


def published(page: str, *files: tuple[str, str], unpacked=None) -> Published:
    """Files as (name, URL); no dataset publishes checksums, the first complete download records them."""
    return Published(page, tuple(RemoteFile(url=url, name=name, page=page) for name, url in files), unpacked)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    reader: str  # "package.module:Class" of the reader, imported when the dataset is opened
    unit: str  # of depth and focus positions: "disparity" or "metres"
    synthetic_size: tuple[int, int]  # (height, width) the synthesizer uses unless told otherwise
    synthetic_scenes: int
    mask: tuple[float, float] | None = None  # inclusive GT range the paper scores, in `unit`
    scored_as: str | None = None  # another dataset whose mask and protocol apply
    published: Published | None = None  # None: exists only as embedded synthetic data
    per_scene_stacks: bool = False  # scenes differ in size and slice count: one stack file per scene
    real_scenes: tuple[str, ...] = ()  # per-scene datasets: the scenes of the real data

    def open(self, root, **options):
        module, _, cls = self.reader.partition(":")
        return getattr(importlib.import_module(module), cls)(root, **options)

    def scenes(self, source: str, count: int | None = None) -> list[str]:
        """Scene names of a per-scene dataset: the real captures', or the synthetic stand-in's."""
        if source != "synthetic":
            return list(self.real_scenes)
        return [f"scene{i:02d}" for i in range(self.synthetic_scenes if count is None else count)]


DRIVE = "https://drive.google.com/uc?export=download&id="
DDFF_FILES = "https://vision.in.tum.de/webarchive/hazirbas/ddff12scene/"
MIDDLEBURY_FILES = "https://vision.middlebury.edu/stereo/submit3/zip/"
OFFICIAL_PAGE = "https://github.com/albert100121/AiFDepthNet"  # the authors' code, data and checkpoints

SPECS = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "hci",
            "aifdepth.datasets.hci:HCI",
            "disparity",
            (128, 128),
            24,
            mask=(-2.5, 2.5),
            published=published(
                "https://lightfield-analysis.uni-konstanz.de",
                ("full_data.zip", ""),
                unpacked=(("training/boxes/parameters.cfg", ""),),
            ),
        ),
        DatasetSpec(
            "ddff",
            "aifdepth.datasets.ddff:DDFF",
            "disparity",
            (96, 128),
            40,
            mask=(0.0202, 0.2825),
            published=published(
                "https://hazirbas.com/datasets/ddff12scene/",
                ("ddff-dataset-trainval.h5", DDFF_FILES + "ddff-dataset-trainval.h5"),
                ("ddff-dataset-test.h5", DDFF_FILES + "ddff-dataset-test.h5"),
            ),
        ),
        DatasetSpec(
            "defocusnet",
            "aifdepth.datasets.defocusnet:DefocusNet",
            "metres",
            (128, 128),
            50,
            mask=(0.1, 1.5),
            published=published(
                "https://github.com/dvl-tum/defocus-net",
                ("fs_6.zip", DRIVE + "1bR-WZQf44s0nsScC27HiEwaXPyEQ3-Dw"),
                unpacked=(("000000Dpt.exr", "fs_6"),),
            ),
        ),
        DatasetSpec(
            "middlebury",
            "aifdepth.datasets.middlebury:Middlebury",
            "disparity",
            (168, 248),
            15,
            mask=(10.0, 60.0),
            published=published(
                "https://vision.middlebury.edu/stereo/submit3/",
                ("MiddEval3-data-Q.zip", MIDDLEBURY_FILES + "MiddEval3-data-Q.zip"),
                ("MiddEval3-GT0-Q.zip", MIDDLEBURY_FILES + "MiddEval3-GT0-Q.zip"),
                unpacked=(("Adirondack/im0.png", "trainingQ"),),
            ),
        ),
        # The procedural RGB-D training set for Middlebury: trained for it, so scored like it.
        DatasetSpec("rgbd", "aifdepth.datasets.middlebury:RGBD", "disparity", (168, 248), 40, scored_as="middlebury"),
        # The authors' pre-rendered stacks (official README, Google Drive links): the Middlebury
        # scenes as they rendered them, and the training set of their Middlebury models.
        DatasetSpec(
            "middlebury_fs",
            "aifdepth.datasets.stacklist:MiddleburyFS",
            "disparity",
            (168, 248),
            15,
            scored_as="middlebury",
            published=published(OFFICIAL_PAGE),
        ),
        DatasetSpec(
            "flyingthings3d_fs",
            "aifdepth.datasets.stacklist:FlyingThings3DFS",
            "disparity",
            (128, 160),
            20,
            mask=(10.0, 100.0),
            published=published(OFFICIAL_PAGE),
        ),
        DatasetSpec(
            "mobiledepth",
            "aifdepth.datasets.mobiledepth:MobileDepth",
            "disparity",
            (120, 160),
            3,
            # Two archives behind a form; their contents go into one folder (Aligned/, Photos/, calibration/).
            published=published("https://www.supasorn.com/dffdownload.html"),
            per_scene_stacks=True,
            # the scenes with a calibration (the ones the paper shows)
            real_scenes=(
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
            ),
        ),
    )
}
PUBLISHED_DATASETS = tuple(name for name, spec in SPECS.items() if spec.published is not None)


def spec_of(name: str) -> DatasetSpec:
    if name not in SPECS:
        raise InputError(f"unknown dataset '{name}'; choose one of {', '.join(SPECS)}")
    return SPECS[name]


def published_by(name: str) -> Published:
    found = spec_of(name).published
    if found is None:
        raise InputError(f"dataset '{name}' has no published download; use `source: synthetic`")
    return found
