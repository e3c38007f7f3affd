"""What every stage's command-line module shares: the one-line usage error, argument types and the
scenario options. Each stage with commands has its own cli module (run/cli.py, report/cli.py,
generate/cli.py, versions/cli.py) with `add_parser(commands)`; harness/__main__.py only assembles them.
Importing a cli module must not import keras; its handlers may, lazily."""

from __future__ import annotations

import argparse
import math

EXIT_OK, EXIT_DIVERGENCE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or bad input: printed as one line, exit code 2."""


def positive_seconds(value: str) -> float:
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(value)
    return seconds


positive_seconds.__name__ = "a positive number of seconds"  # argparse shows this name in its error


def add_scenario_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--scenarios", action="append", metavar="MOD_OR_FILE",
                     help="scenario module or .py file (repeatable; default: scenarios)")
    sub.add_argument("--select", action="append", metavar="GLOB",
                     help="keep scenarios whose name or a tag matches (repeatable)")
