"""`polyrel run`: the Beam pipeline from raw documents to relation triples in Parquet."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    from polyrel.pipeline.options import add_arguments

    parser = subparsers.add_parser(
        "run", help="extract relation triples from documents (Apache Beam) into Parquet",
        description=__doc__,
    )
    add_arguments(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from polyrel.pipeline.options import RunOptions
    from polyrel.pipeline.run import run
    from polyrel.pipeline.summary import summarise

    report = run(RunOptions.from_args(args))
    print(summarise(report.output, report.counters))
    return 0
