"""Fixtures and paths the test modules share."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "configs" / "tiny.yaml"  # a whole config of its own: `all` in about a minute


def run_snakemake(workdir, *args, configfile=TINY) -> subprocess.CompletedProcess:
    """The workflow in `workdir` with this checkout's Snakefile and Python, output captured."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    command += ["--configfile", str(configfile), "--cores", "2", *args]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=1500, check=False)


def debian_command(command: str, packages: tuple[str, ...]) -> str:
    """The path of a command from Debian's packages, installed when missing (as root, like the
    Slurm tests' cluster)."""
    if not shutil.which(command):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.fail(f"{command} is missing: apt-get install {' '.join(packages)}")
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, timeout=1200, env=env)
    return shutil.which(command)


@pytest.fixture(scope="session")
def snakemake():
    return run_snakemake


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
