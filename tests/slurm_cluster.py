"""A real single-node Slurm cluster for the tests: Debian's slurm-wlm and munge, installed with apt
when missing, started as root without systemd, one partition with a fake GPU (gres File=/dev/null)
so GPU-requesting rules schedule. No accounting database: jobs are watched with squeue, which
needs finished jobs to stay visible (MinJobAge)."""

import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

CONF_DIR = Path("/etc/slurm")
MARKER = "# written by the aifdepth test suite"
PACKAGES = ("slurm-wlm", "munge")
PARTITION = "debug"


class SlurmUnavailable(Exception):
    """Why Slurm cannot run here (the test is skipped with this reason)."""


def _run(*command, timeout=600, check=True):
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=check)


def install() -> None:
    """apt-get install the daemons unless they are there."""
    if all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue")):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SlurmUnavailable("Slurm is not installed and this is not a root Debian machine that could install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
    ):
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if result.returncode != 0:
            raise SlurmUnavailable(f"`{' '.join(command)}` failed: {result.stderr[-500:]}")


def slurm_conf(host: str, cpus: int, memory_mb: int) -> str:
    return f"""{MARKER}
ClusterName=aifdepth-test
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
GresTypes=gpu
NodeName={host} CPUs={cpus} RealMemory={memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def start() -> list[str]:
    """Configure and start munged, slurmctld and slurmd; return the daemons started (for stop())."""
    install()
    if os.geteuid() != 0:
        raise SlurmUnavailable("starting the Slurm daemons needs root")
    conf = CONF_DIR / "slurm.conf"
    if conf.is_file() and MARKER not in conf.read_text():
        raise SlurmUnavailable(f"{conf} belongs to a Slurm installation of this machine; not touching it")
    host = platform.node().split(".")[0]
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 - 1024
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    conf.write_text(slurm_conf(host, os.cpu_count(), memory_mb))
    (CONF_DIR / "gres.conf").write_text(f"{MARKER}\nNodeName={host} Name=gpu File=/dev/null\n")
    for folder in ("/var/spool/slurmctld", "/var/spool/slurmd", "/var/log/slurm", "/run/munge"):
        Path(folder).mkdir(parents=True, exist_ok=True)
    started = []
    if _run("pgrep", "-x", "munged", check=False).returncode != 0:
        shutil.chown("/run/munge", "munge", "munge")
        if not Path("/etc/munge/munge.key").is_file():
            _run("mungekey", "--create")
            shutil.chown("/etc/munge/munge.key", "munge", "munge")
        _run("runuser", "-u", "munge", "--", "munged")
        started.append("munged")
    for daemon in ("slurmctld", "slurmd"):
        if _run("pgrep", "-x", daemon, check=False).returncode != 0:
            _run(daemon)
            started.append(daemon)
    _wait_for_idle_node()
    return started


def _wait_for_idle_node(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = _run("sinfo", "-h", "-o", "%t", check=False).stdout.strip()
        if state in ("idle", "mix", "alloc"):
            return
        time.sleep(1)
    log = Path("/var/log/slurm/slurmd.log")
    tail = log.read_text()[-1500:] if log.is_file() else ""
    raise SlurmUnavailable(f"the Slurm node did not become idle within {timeout} s (state {state!r}); {tail}")


def stop(started: list[str]) -> None:
    """Stop the daemons this module started, leaving any that were running before."""
    for daemon in reversed(started):
        _run("pkill", "-x", daemon, check=False)
    deadline = time.monotonic() + 30
    while any(_run("pgrep", "-x", d, check=False).returncode == 0 for d in started) and time.monotonic() < deadline:
        time.sleep(0.5)
