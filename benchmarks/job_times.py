"""Per-job and per-stage times of a finished DAG run, from Snakemake's benchmark files
(results/benchmarks/<stage>/...tsv): wall seconds and CPU seconds. With --cores above the real
core count, jobs share cores, so wall times only compare between runs made with the same
--cores; CPU seconds compare across runs. `--before DIR` adds the stage totals of an earlier
run's benchmark folder side by side."""

import argparse
import csv
from collections import defaultdict
from pathlib import Path


def read_times(root: Path) -> dict[str, list[tuple[str, float, float]]]:
    """stage -> [(job, wall seconds, CPU seconds)] from every benchmark file under `root`."""
    times = defaultdict(list)
    for path in sorted(root.rglob("*.tsv")):
        with open(path, newline="") as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        stage = path.relative_to(root).parts[0]
        job = str(path.relative_to(root / stage).with_suffix(""))
        times[stage].append((job, float(row["s"]), float(row["cpu_time"])))
    return times


def stage_line(stage: str, jobs: list[tuple[str, float, float]]) -> str:
    wall, cpu = sum(job[1] for job in jobs), sum(job[2] for job in jobs)
    return f"{stage}: {len(jobs)} jobs, {wall:.0f} s wall summed, {cpu:.0f} CPU s"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", nargs="?", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--top", type=int, default=5, help="slowest jobs (CPU seconds) listed per stage")
    parser.add_argument("--before", type=Path, help="benchmark folder of an earlier run, for a before/after table")
    args = parser.parse_args()
    times = read_times(args.root)
    if not times:
        raise SystemExit(f"{args.root}: no benchmark files; run the workflow first (snakemake --cores 2 all)")
    for stage, jobs in sorted(times.items()):
        print(stage_line(stage, jobs))
        for job, wall, cpu in sorted(jobs, key=lambda item: -item[2])[: args.top]:
            print(f"    {cpu:8.1f} CPU s {wall:8.1f} s  {job}")
    if args.before:
        before = read_times(args.before)
        print("\n| stage | jobs before | jobs now | CPU s before | CPU s now |\n|---|---|---|---|---|")
        for stage in sorted(set(times) | set(before)):
            old, new = before.get(stage, []), times.get(stage, [])
            old_cpu, new_cpu = sum(j[2] for j in old), sum(j[2] for j in new)
            print(f"| {stage} | {len(old)} | {len(new)} | {old_cpu:.0f} | {new_cpu:.0f} |")
        old_cpu, new_cpu = (
            sum(j[2] for s, jobs in run.items() if s != "train" for j in jobs) for run in (before, times)
        )
        print(f"| all but train | | | {old_cpu:.0f} | {new_cpu:.0f} |")


if __name__ == "__main__":
    main()
