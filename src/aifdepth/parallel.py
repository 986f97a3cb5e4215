"""One thread budget for the whole process, so a Snakemake job uses the `threads:` it
declared and parallel jobs do not oversubscribe the cores."""

import contextlib
import fcntl
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)
SLOT_POLL_SECONDS = 0.5


def set_threads(count: int) -> None:
    """Limit OpenCV, FFT workers, slice pools and torch of this process to `count` threads.
    OpenCV and torch read their variables when they are imported, which commands that need
    neither (tables, claims, `--help`) then never pay for."""
    if count < 1:
        raise ValueError(f"--threads must be at least 1, got {count}")
    for variable in ("AIFDEPTH_THREADS", "OMP_NUM_THREADS", "OPENCV_FOR_THREADS_NUM"):
        os.environ[variable] = str(count)
    if "cv2" in sys.modules:  # imported already: its pool is sized
        sys.modules["cv2"].setNumThreads(count)


def thread_count() -> int:
    """The budget set by `set_threads`, else every core this process may use."""
    if "AIFDEPTH_THREADS" in os.environ:
        return int(os.environ["AIFDEPTH_THREADS"])
    return machine_cores()


def machine_cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _slot_files(slot_dir: Path | None, cores: int | None) -> list[Path]:
    """The lock files of the machine's CPU slots, one per `thread_count()` threads of its cores."""
    cores = cores or machine_cores()
    slot_dir = Path(slot_dir or Path(tempfile.gettempdir()) / f"aifdepth-cpu-slots-{os.getuid()}")
    slot_dir.mkdir(parents=True, exist_ok=True)
    return [slot_dir / f"slot{index}.lock" for index in range(max(1, cores // thread_count()))]


@contextlib.contextmanager
def cpu_slot(slot_dir: Path | None = None, cores: int | None = None):
    """Run the block only while this process holds one of the machine's CPU slots, one per
    `thread_count()` threads of its cores, so at most that many such blocks compute at once
    whatever `--cores` told Snakemake: 8 trainings time-sharing 2 cores took up to 1.4x the
    CPU seconds per step of 2 at a time (measured, see README). The slots are file locks in
    the machine's temporary folder, released by the kernel when a process ends, however it
    ends."""
    slots = _slot_files(slot_dir, cores)
    waited = False
    while True:
        for index, path in enumerate(slots):
            handle = open(path, "w")  # noqa: SIM115 -- held open while the slot is ours
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield index
            finally:
                handle.close()  # closing releases the lock
            return
        if not waited:
            log.info("waiting for one of %d CPU slots (%s)", len(slots), path.parent)
            waited = True
        time.sleep(SLOT_POLL_SECONDS)


@contextlib.contextmanager
def all_cpu_slots(slot_dir: Path | None = None, cores: int | None = None):
    """Run the block holding every CPU slot, so no other slot-holding job computes meanwhile:
    runtimes are measured on a machine to themselves. Slots are taken in order, waiting for each;
    `cpu_slot` holders never wait while holding one, and two such blocks both queue at the first
    slot, so nobody waits for a process that waits for them. Not to be nested in `cpu_slot` (the
    process would wait for itself)."""
    slots = _slot_files(slot_dir, cores)
    with contextlib.ExitStack() as held:
        for path in slots:
            handle = held.enter_context(open(path, "w"))  # closing releases the lock
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for %s to time on a machine to itself", path)
                fcntl.flock(handle, fcntl.LOCK_EX)
        yield len(slots)
