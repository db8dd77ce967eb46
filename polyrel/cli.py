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
import warnings
from collections.abc import Sequence

from polyrel import __version__, progress

# Every subcommand group, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "polyrel.model.relation.cli",
    "polyrel.model.ner.cli",
    "polyrel.model.encoders.install",
    "polyrel.pipeline.cli",
    "polyrel.pipeline.score",
    "polyrel.kg.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polyrel", description=__doc__.splitlines()[0],
                                     epilog="example: polyrel run docs/ --out runs/docs   (then: polyrel kg load runs/docs)")
    parser.add_argument("--version", action="version", version=f"polyrel {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show third-party warnings, logs and loading bars")
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback (default: one line, exit 2)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (they show only on a terminal anyway)")
    subparsers = parser.add_subparsers(dest="command", required=True, help="see polyrel COMMAND --help")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


# What a user's input or environment can cause (a missing file, a bad option value, a refused model
# directory, a missing extra): one line and exit 2, not a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, RuntimeError, ImportError)


def quiet_libraries() -> None:
    """Third-party warnings, logs and weight-loading bars off; polyrel's own log lines stay."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    logging.getLogger("polyrel").setLevel(logging.INFO)


def run_console(argv: Sequence[str] | None = None) -> int:
    """`main` as the executable runs it: quiet libraries unless --verbose, user errors as one line."""
    args = build_parser().parse_args(argv)
    if args.quiet:
        progress.set_quiet()
    if args.verbose:
        logging.basicConfig(level=logging.INFO)
    else:
        quiet_libraries()
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        if args.debug:
            raise
        message = str(exc) or type(exc).__name__
        print(f"polyrel: error: {message} (--debug shows where)", file=sys.stderr)
        return 2


def console() -> None:
    """The `polyrel` executable: `run_console`, then an exit that skips interpreter teardown.

    Once a command has finished and its files are written, tearing down the native threads
    Beam's runners leave behind can abort the process ("terminate called without an active
    exception", exit 134) and turn a finished run into a failed one for a scheduler; so the
    process flushes its output and leaves directly.
    """
    code = run_console()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
