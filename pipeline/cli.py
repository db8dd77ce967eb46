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
    parser.add_argument("--incremental", action="store_true",
                        help="process only documents new or changed since the last run into OUT/runs/RUN_ID/,"
                        " recording them in OUT/_manifest.parquet (see schemas/manifest.py)")
    parser.add_argument("--full", action="store_true",
                        help="like --incremental, but reprocess every document")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from polyrel.pipeline.options import RunOptions
    from polyrel.pipeline.run import run
    from polyrel.pipeline.summary import summarise

    options = RunOptions.from_args(args)
    if args.incremental or args.full:
        from polyrel.pipeline.incremental import run_incremental

        return run_incremental(options, full=args.full)
    report = run(options)
    print(summarise(report.output, report.counters))
    return 0
