"""Per-job and per-rule times of a finished DAG run, from Snakemake's benchmark files
(results/benchmarks/<rule>/...tsv). Prints figures; with --cores above the real core count,
jobs share cores, so compare totals of runs made with the same --cores."""

import argparse
import csv
from collections import defaultdict
from pathlib import Path


def read_times(root: Path) -> dict[str, list[tuple[str, float]]]:
    """rule -> [(job, wall seconds)] from every benchmark file under `root`."""
    times = defaultdict(list)
    for path in sorted(root.rglob("*.tsv")):
        with open(path, newline="") as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        rule = path.relative_to(root).parts[0]
        times[rule].append((str(path.relative_to(root / rule).with_suffix("")), float(row["s"])))
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", nargs="?", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--top", type=int, default=5, help="slowest jobs listed per rule")
    args = parser.parse_args()
    times = read_times(args.root)
    if not times:
        raise SystemExit(f"{args.root}: no benchmark files; run the workflow first (snakemake --cores 2 all)")
    for rule, jobs in sorted(times.items()):
        total = sum(seconds for _, seconds in jobs)
        print(f"{rule}: {len(jobs)} jobs, {total:.0f} s summed, {total / len(jobs):.1f} s mean")
        for job, seconds in sorted(jobs, key=lambda item: -item[1])[: args.top]:
            print(f"    {seconds:8.1f} s  {job}")


if __name__ == "__main__":
    main()
