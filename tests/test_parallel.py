"""CPU slots: however many jobs Snakemake starts, only as many compute at once as the
machine has cores, and a slot comes back when its holder dies."""

import subprocess
import sys
import threading

from aifdepth.parallel import all_cpu_slots, cpu_slot

HOLD_A_SLOT = """
import sys, time
from aifdepth.parallel import cpu_slot, set_threads
set_threads(1)
with cpu_slot(sys.argv[1], cores=1):
    print("holding", flush=True)
    time.sleep(60)
"""


def enter_in_thread(slot_dir, cores):
    entered, release = threading.Event(), threading.Event()

    def run():
        with cpu_slot(slot_dir, cores=cores):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return entered, release, thread


def test_a_third_job_waits_until_one_of_two_slots_is_free(tmp_path, monkeypatch):
    monkeypatch.setenv("AIFDEPTH_THREADS", "1")
    with cpu_slot(tmp_path, cores=2) as first:
        with cpu_slot(tmp_path, cores=2) as second:
            assert {first, second} == {0, 1}
            entered, release, thread = enter_in_thread(tmp_path, cores=2)
            assert not entered.wait(1.5)  # both slots held: the third waits
        assert entered.wait(10)  # one released: the third runs
        release.set()
        thread.join(10)


def test_two_threads_per_job_halve_the_slots(tmp_path, monkeypatch):
    monkeypatch.setenv("AIFDEPTH_THREADS", "2")
    with cpu_slot(tmp_path, cores=4):
        with cpu_slot(tmp_path, cores=4):
            entered, release, thread = enter_in_thread(tmp_path, cores=4)
            assert not entered.wait(1.5)
        assert entered.wait(10)
        release.set()
        thread.join(10)


def test_a_killed_holder_frees_its_slot(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_SLOT, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        entered, release, thread = enter_in_thread(tmp_path, cores=1)
        assert not entered.wait(1.5)
        holder.kill()
        holder.wait(10)
        assert entered.wait(10)
        release.set()
        thread.join(10)
    finally:
        holder.kill()


def test_thread_budget_reaches_opencv_imported_after_it():
    code = (
        "import sys\nfrom aifdepth.parallel import set_threads\nset_threads(1)\n"
        "assert 'cv2' not in sys.modules\nimport cv2\nprint(cv2.getNumThreads())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "1"


def test_timing_waits_for_every_slot_and_keeps_other_jobs_out_while_it_runs(tmp_path, monkeypatch):
    """A runtime is timed holding every slot: it waits while any job computes, and jobs that
    start meanwhile wait until it is done."""
    monkeypatch.setenv("AIFDEPTH_THREADS", "1")
    timing_entered, timing_release = threading.Event(), threading.Event()

    def time_alone():
        with all_cpu_slots(tmp_path, cores=2) as held:
            assert held == 2
            timing_entered.set()
            timing_release.wait(10)

    with cpu_slot(tmp_path, cores=2):
        timer = threading.Thread(target=time_alone, daemon=True)
        timer.start()
        assert not timing_entered.wait(1.5)  # one job computes: the timing waits
    assert timing_entered.wait(10)
    entered, release, thread = enter_in_thread(tmp_path, cores=2)
    assert not entered.wait(1.5)  # the timing holds both slots: a new job waits
    timing_release.set()
    timer.join(10)
    assert entered.wait(10)
    release.set()
    thread.join(10)
