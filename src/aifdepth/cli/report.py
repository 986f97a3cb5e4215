"""Stage 5 subcommands: the paper's tables and figures, and the claims report (also over seed runs)."""

import argparse
import logging
from pathlib import Path

from ..report.contents import FIGURES, TABLES

log = logging.getLogger("aifdepth")


def table(args) -> None:
    from ..report.tables import write_table

    write_table(args.name, args.evaluations, args.tex, args.csv, args.html, with_rows=args.with_rows)
    log.info("wrote %s and %s", args.tex, args.csv)


def figure(args) -> None:
    from ..report.figures import write_figure

    write_figure(args.name, args.evaluations, args.stacks, args.pdf, args.png, scenes=args.scenes)
    log.info("wrote %s and %s", args.pdf, args.png)


def claims(args) -> None:
    from ..report.claims import VERDICTS, write_claims

    verdicts = write_claims(args.tables, args.evaluations, args.out, [p for p in (args.pdf, args.png) if p], args.html)
    counts = ", ".join(f"{sum(v == k for _, v in verdicts)} {k}" for k in VERDICTS)
    log.info("wrote %s: %s (of %d claims judged)", args.out, counts, len(verdicts))


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("table", help="one of the paper's tables as LaTeX and CSV, from evaluation JSONs")
    p.add_argument("name", choices=list(TABLES))
    p.add_argument("--evaluations", type=Path, default=Path("results/eval"), help="folder of the evaluation JSONs")
    p.add_argument("--tex", type=Path, required=True)
    p.add_argument("--csv", type=Path, required=True)
    p.add_argument("--html", type=Path, help="also an HTML page of the same numbers")
    p.add_argument(
        "--with-rows",
        nargs="+",
        default=(),
        metavar="LABEL",
        help='optional rows to show, by their first label (e.g. "Ours (authors\' weights)")',
    )
    p.set_defaults(func=table)

    p = commands.add_parser("figure", help="one of the paper's figures as PDF and PNG, from saved predictions")
    p.add_argument("name", choices=list(FIGURES))
    p.add_argument("--evaluations", type=Path, default=Path("results/eval"), help="folder of the predictions")
    p.add_argument("--stacks", type=Path, default=Path("results/stacks"), help="folder of the stack files")
    p.add_argument("--pdf", type=Path, required=True)
    p.add_argument("--png", type=Path, required=True)
    p.add_argument("--scenes", nargs="+", help="Mobile Depth figures: the scenes to show, one row each")
    p.set_defaults(func=figure)

    p = commands.add_parser(
        "claims", help="the claims report: each comparison with a paired-bootstrap interval and its verdict"
    )
    p.add_argument(
        "--tables", type=Path, nargs="*", default=[], help="the tables built: claims on others are not judged"
    )
    p.add_argument("--out", type=Path, required=True, help="markdown report")
    p.add_argument("--pdf", type=Path, help="the claims figure as PDF")
    p.add_argument("--png", type=Path, help="the claims figure as PNG")
    p.add_argument("--html", type=Path, help="the report also as an HTML page")
    p.add_argument(
        "evaluations", nargs="*", type=Path, help="evaluation JSONs, .../{dataset}/{variant}[.seedN]/{test}.json"
    )
    p.set_defaults(func=claims)
