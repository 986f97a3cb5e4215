"""Errors a user can hit; the CLI prints them without a traceback."""


class InputError(ValueError):
    """Bad input file, key or argument; the message names it and says what to do."""


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss diverged); the message says what was kept."""
