"""Stage 1 and 2 subcommands: datasets in their real layout, and stack files built from them."""

import argparse
import logging
from pathlib import Path

from ..datasets.spec import PUBLISHED_DATASETS, SPECS
from ..parallel import cpu_slot

log = logging.getLogger("aifdepth")


def synthesize(args) -> None:
    from ..synthesize import synthesize

    with cpu_slot():  # computes beside at most as many jobs as cores, never while a runtime is timed
        synthesize(args.dataset, args.out_dir, scenes=args.scenes, size=args.size, seed=args.seed, heldout=args.heldout)
    log.info("wrote synthetic %s to %s", args.dataset, args.out_dir)


def download(args) -> None:
    from ..sources import download

    download(args.dataset, args.name, args.out, args.checksums, mirror=args.mirror)
    log.info("fetched %s", args.out)


def unpack(args) -> None:
    from ..sources import unpack

    unpack(args.dataset, args.files, args.out)
    log.info("unpacked %s into %s", args.dataset, args.out)


def link(args) -> None:
    from ..sources import link_manual

    link_manual(args.dataset, args.path, args.out)
    log.info("linked %s from %s into %s", args.dataset, args.path, args.out)


def build_stack(args) -> None:
    from ..datasets import open_dataset
    from ..stackbuild import build_stacks
    from ..stackfile import write_stacks

    dataset = open_dataset(args.dataset, args.root, **({"frames": args.frames} if args.frames else {}))
    aperture = None if args.aperture is None else (args.aperture[0] if len(args.aperture) == 1 else args.aperture)
    with cpu_slot():  # as synthesize
        stacks = build_stacks(
            dataset,
            args.split,
            source=args.source,
            focus_range=args.focus_range,
            slices=args.slices,
            indices=args.indices,
            random_count=args.random_count,
            aperture=aperture,
            seed=args.seed,
            names=args.names,
            align=args.align,
        )
    write_stacks(args.out, stacks)
    log.info(
        "wrote %d %s/%s stacks of %d slices to %s",
        len(stacks),
        args.dataset,
        args.split,
        stacks.stack.shape[1],
        args.out,
    )


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("synthesize", help="write an embedded synthetic dataset in its real on-disk format")
    p.add_argument("dataset", choices=list(SPECS))
    p.add_argument("out_dir", type=Path)
    p.add_argument("--scenes", type=int, help="number of scenes (stacks); default depends on the dataset")
    p.add_argument("--size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"), help="image size in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heldout", type=int, default=0, help="hci: extra scenes of the 'heldout' split, never trained on")
    p.set_defaults(func=synthesize)

    p = commands.add_parser("download", help="fetch one published file of a dataset (resumable, SHA-256 checked)")
    p.add_argument("dataset", choices=PUBLISHED_DATASETS)
    p.add_argument("name", help="published file name, e.g. ddff-dataset-trainval.h5")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--checksums", type=Path, required=True, help="sha256sum-style file; unknown files are recorded")
    p.add_argument("--mirror", help="URL of a folder holding the published files, instead of their home")
    p.set_defaults(func=download)

    p = commands.add_parser("unpack", help="lay downloaded files out as the dataset folder the readers expect")
    p.add_argument("dataset", choices=PUBLISHED_DATASETS)
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=unpack)

    p = commands.add_parser("link", help="validate a dataset folder you already have and link it in (no copy)")
    p.add_argument("dataset", choices=PUBLISHED_DATASETS)
    p.add_argument("path", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=link)

    p = commands.add_parser("build-stack", help="convert or render a dataset split into one unified stack file")
    p.add_argument("dataset", choices=list(SPECS))
    p.add_argument("root", type=Path, help="dataset folder in its real layout")
    p.add_argument("--split", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--source", choices=["real", "synthetic"], required=True)
    p.add_argument("--slices", type=int, help="uniform slice count (rendered datasets)")
    p.add_argument("--focus-range", type=float, nargs=2, metavar=("FIRST", "LAST"))
    p.add_argument("--indices", type=int, nargs="+", help="1-based slices to keep, e.g. 1 3 5 7 9")
    p.add_argument("--random-count", type=int, help="keep a random sorted subset of this size per sample")
    p.add_argument("--aperture", type=float, nargs="+", help="blur px per disparity unit, or LOW HIGH per sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", choices=["aligned", "unaligned"], help="mobiledepth frame set")
    p.add_argument("--names", nargs="+", help="only these samples (e.g. one mobiledepth scene)")
    p.add_argument(
        "--align",
        choices=["affine", "homography"],
        help="register each shipped stack's slices to its first (focus breathing, camera motion)",
    )
    p.set_defaults(func=build_stack)
