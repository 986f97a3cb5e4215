"""Subcommands on single focal stacks: align their slices, refocus a light field, defocus an RGB-D pair."""

import argparse
import logging
from pathlib import Path

log = logging.getLogger("aifdepth")


def align(args) -> None:
    from ..align import align_files

    alignment = align_files(args.images, args.out, reference=args.reference, motion=args.motion)
    log.info(
        "aligned %d slices to slice %d into %s (%d warning(s))",
        len(args.images),
        args.reference,
        args.out,
        len(alignment.warnings),
    )


def refocus(args) -> None:
    from ..slices import focus_positions
    from ..stackbuild import refocused_scene
    from ..stackfile import write_stacks

    disparities = focus_positions(args.disparities, "--disparities").tolist()
    write_stacks(args.out, refocused_scene(args.scene_dir, disparities))
    log.info("refocused %s at %d disparities into %s", args.scene_dir, len(disparities), args.out)


def defocus(args) -> None:
    from ..slices import focus_positions
    from ..stackbuild import defocus_files
    from ..stackfile import write_stacks

    focus = focus_positions(args.focus, "--focus").tolist()
    write_stacks(args.out, defocus_files(args.image, args.disparity, focus, args.aperture, args.dataset, args.source))
    log.info("rendered %d defocus slices of %s into %s", len(focus), args.image, args.out)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("align", help="align the slices of a focal stack to one of them (breathing, camera motion)")
    p.add_argument("images", nargs="+", type=Path, help="the slices, in stack order")
    p.add_argument("--out", type=Path, required=True, help="folder for the aligned slices and transforms.json")
    p.add_argument("--reference", type=int, default=0, help="0-based index of the slice the others are aligned to")
    p.add_argument("--motion", choices=["affine", "homography"], default="affine")
    p.set_defaults(func=align)

    p = commands.add_parser("refocus", help="shift-and-add refocus of an HCI-format light-field scene")
    p.add_argument("scene_dir", type=Path)
    p.add_argument("--disparities", type=float, nargs="*", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=refocus)

    p = commands.add_parser("defocus", help="layered, occlusion-aware defocus of an RGB + disparity pair")
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--disparity", type=Path, required=True, help="PFM; inf/NaN = unknown")
    p.add_argument("--focus", type=float, nargs="*", required=True, help="focus disparities")
    p.add_argument("--aperture", type=float, required=True, help="blur radius in px per unit of disparity")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--dataset", default="middlebury", help="dataset name stored in the stack file")
    p.add_argument("--source", choices=["real", "synthetic"], default="real")
    p.set_defaults(func=defocus)
