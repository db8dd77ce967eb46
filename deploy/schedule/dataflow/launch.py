"""Flex template entry point for scheduled, incremental runs: plan, submit, return.

Same image and parameters as the plain template (`deploy/dataflow/`: Dockerfile, launch.py's
`translate`), plus `full=true|false`. The launcher reads the corpus and the manifest, saves the
plan, submits the job and returns without waiting, as a flex template launcher must; the job's
last step commits `<out>/_manifest.parquet`. Select this file when building the template:
    --env FLEX_TEMPLATE_PYTHON_PY_FILE=/opt/polyrel/src/deploy/schedule/dataflow/launch.py
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

PLAIN_LAUNCHER = Path(__file__).resolve().parents[2] / "dataflow" / "launch.py"


def _translate(argv: list[str]) -> list[str]:
    spec = importlib.util.spec_from_file_location("polyrel_plain_launch", PLAIN_LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.translate(argv)


def options_from(argv: Sequence[str]):
    """(RunOptions, full) from the template's `--name=value` flags."""
    from polyrel.cli import build_parser
    from polyrel.pipeline.options import RunOptions

    full = any(a.lower() in ("--full=true", "--full=1") for a in argv)
    rest = [a for a in argv if not a.startswith("--full=")]
    args = build_parser().parse_args(_translate(rest))
    return RunOptions.from_args(args), full


def main(argv: Sequence[str] | None = None) -> int:
    from polyrel.pipeline.incremental import run_incremental

    options, full = options_from(sys.argv[1:] if argv is None else argv)
    return run_incremental(options, full=full, wait=False)


if __name__ == "__main__":
    sys.exit(main())
