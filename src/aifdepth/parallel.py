"""One thread budget for the whole process, so a Snakemake job uses the `threads:` it
declared and parallel jobs do not oversubscribe the cores."""

import os

import cv2


def set_threads(count: int) -> None:
    """Limit OpenCV, FFT workers, slice pools and torch (which reads OMP_NUM_THREADS when
    it is imported, after this) of this process to `count` threads."""
    if count < 1:
        raise ValueError(f"--threads must be at least 1, got {count}")
    os.environ["AIFDEPTH_THREADS"] = str(count)
    os.environ["OMP_NUM_THREADS"] = str(count)
    cv2.setNumThreads(count)


def thread_count() -> int:
    """The budget set by `set_threads`, else every core this process may use."""
    if "AIFDEPTH_THREADS" in os.environ:
        return int(os.environ["AIFDEPTH_THREADS"])
    return len(os.sched_getaffinity(0))
