"""Atomic outputs: a killed writer leaves no file under the final name, and the next writer of
the same target clears the part file it left, but not other targets' files."""

import subprocess
import sys

from aifdepth.io.atomic import atomic_path

WRITE_AND_HANG = """
import sys, time
from aifdepth.io.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a checkpoint")
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_the_next_writer_removes_what_a_killed_one_left(tmp_path):
    target = tmp_path / "model.checkpoint.pt"
    writer = subprocess.Popen([sys.executable, "-c", WRITE_AND_HANG, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        part = tmp_path / writer.stdout.readline().strip()
    finally:
        writer.kill()
        writer.wait(10)
    assert part.is_file() and not target.exists()  # SIGKILL: no finally ran
    other = tmp_path / ".model.abcd1234.part.pt"  # a part file of model.pt, another target
    other.write_bytes(b"")
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"complete")
    assert target.read_bytes() == b"complete"
    assert not part.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, target.name]
