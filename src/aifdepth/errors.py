"""Errors a user can hit; the CLI prints them without a traceback."""

from pathlib import Path


class InputError(ValueError):
    """Bad input file, key or argument; the message names it and says what to do."""


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss diverged); the message says what was kept."""


# Workflow outputs a user may find corrupt: Snakemake treats an existing file as done, so the
# command that rebuilds one needs --force.
WORKFLOW_OUTPUTS = ("stacks", "models")


def rebuild_hint(path, otherwise: str) -> str:
    """A command that really rebuilds `path`: `snakemake --force` for a workflow output under
    results/stacks or results/models, else `otherwise` (no Snakemake command fits)."""
    parts = Path(path).parts
    start = parts.index("results") if "results" in parts else -1
    if start >= 0 and parts[start + 1 : start + 2] in [(kind,) for kind in WORKFLOW_OUTPUTS]:
        return f"rebuild it with `snakemake --cores 1 --force {Path(*parts[start:])}`"
    return otherwise
