"""The `polyrel` command: one entry point, one subcommand group per module.

Each group lives beside the code it drives and exposes `add_parser(subparsers)`; the
module is imported only when listed here, and heavy libraries (torch, Beam) are imported
inside the command functions so `polyrel --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from polyrel import __version__

# Every subcommand group, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "polyrel.model.cli",
    "polyrel.model.ner_cli",
    "polyrel.model.encoders",
    "polyrel.pipeline.cli",
    "polyrel.pipeline.score",
    "polyrel.kg.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polyrel", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"polyrel {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


def console() -> None:
    """The `polyrel` executable: `main`, then an exit that skips interpreter teardown.

    Once a command has finished and its files are written, tearing down the native threads
    Beam's runners leave behind can abort the process ("terminate called without an active
    exception", exit 134) and turn a finished run into a failed one for a scheduler; so the
    process flushes its output and leaves directly.
    """
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
