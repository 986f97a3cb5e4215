"""Do two DAG runs give the same outputs? For a change meant to make the pipeline faster, not
different: every focal-stack file holds the same arrays, and every table CSV the same cells
apart from the timing column (`Secs.`). Exits 1 when anything differs.

    python benchmarks/compare_runs.py BEFORE/results AFTER/results
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from aifdepth.stackfile import read_stacks

TIMING_COLUMNS = ["Secs."]


def paired_files(before: Path, after: Path, pattern: str, problems: list[str]):
    """(relative path, earlier file, later file) for each file of `before` matching `pattern`;
    one missing from `after` goes into `problems`."""
    for path in sorted(before.glob(pattern)):
        relative = path.relative_to(before)
        if (after / relative).exists():
            yield relative, path, after / relative
        else:
            problems.append(f"{relative}: missing from {after}")


def differing_stacks(before: Path, after: Path) -> list[str]:
    """Stack files missing from one run or holding other arrays, relative to `before`."""
    problems = []
    for relative, old_path, new_path in paired_files(before, after, "stacks/**/*.h5", problems):
        old, new = read_stacks(old_path), read_stacks(new_path)
        for key in ("stack", "focus", "depth", "aif"):
            a, b = getattr(old, key), getattr(new, key)
            if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b, equal_nan=True)):
                problems.append(f"{relative}: `{key}` differs")
    return problems


def differing_tables(before: Path, after: Path) -> list[str]:
    """Table CSVs missing from one run or with other cells outside the timing columns."""
    problems = []
    for relative, old_path, new_path in paired_files(before, after, "tables/*.csv", problems):
        old, new = (pd.read_csv(p).drop(columns=TIMING_COLUMNS, errors="ignore") for p in (old_path, new_path))
        if not old.equals(new):
            problems.append(f"{relative}: cells differ\n{old.compare(new) if old.shape == new.shape else new}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="results folder of the earlier run")
    parser.add_argument("after", type=Path, help="results folder of the later run")
    args = parser.parse_args()
    stacks = len(list(args.before.glob("stacks/**/*.h5")))
    tables = len(list(args.before.glob("tables/*.csv")))
    problems = differing_stacks(args.before, args.after) + differing_tables(args.before, args.after)
    for problem in problems:
        print(problem)
    print(f"{stacks} stack files, {tables} table CSVs compared: {len(problems) or 'no'} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
