"""The `aifdepth` command: the one entry point the Snakemake rules call. Each stage's module
registers its own subcommands next to their handlers; handlers parse and call the library."""

import argparse
import logging
import sys

from ..errors import InputError, TrainingError
from ..parallel import set_threads
from . import data, model, render, report

STAGES = (data, render, model, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aifdepth", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--threads", type=int, help="threads this process may use (default: all cores)")
    commands = parser.add_subparsers(dest="command", required=True)
    for stage in STAGES:
        stage.register(commands)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    if args.threads is not None:
        set_threads(args.threads)
    try:
        args.func(args)
    except (InputError, TrainingError) as err:
        print(f"aifdepth {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a folder that cannot be written, a full disk: no traceback, nothing left
        where = f"{err.filename}: " if err.filename else ""
        print(
            f"aifdepth {args.command}: error: {where}{err.strerror or err}; check the path and free space",
            file=sys.stderr,
        )
        return 2
    return 0
