"""Dataflow flex template entry point: one incremental polyrel run, submitted without waiting.

The launcher VM calls this with the template parameters (`--input=…`, `--output=…`, …) and
Dataflow's own pipeline options (`--project`, `--region`, `--temp_location`, `--job_name`,
`--sdk_container_image`…). polyrel's parameters are parsed here; everything else goes to Beam.
The plan is made here (the launcher reads the corpus and the manifest); the job's last step
commits the manifest, so this script returns as soon as the job is submitted, as a flex
template launcher must.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="polyrel-flex-template")
    parser.add_argument("--input", required=True, help="corpus locations, comma-separated (gs://…)")
    parser.add_argument("--output", required=True, help="output directory (gs://…) holding _manifest.parquet")
    parser.add_argument("--model", required=True, help="relation model directory (gs://…)")
    parser.add_argument("--ner", default="given")
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--num_shards", type=int, default=8)
    parser.add_argument("--full", default="false", choices=("true", "false"))
    return parser.parse_known_args(argv)


def options_from(argv: Sequence[str]):
    from polyrel.pipeline.options import RunOptions, new_run_id

    args, beam_args = parse(argv)
    options = RunOptions(
        model=args.model, inputs=tuple(i for i in args.input.split(",") if i), output=args.output,
        ner=args.ner, threshold=args.threshold, num_shards=args.num_shards, run_id=new_run_id(),
        runner="DataflowRunner", beam_args=tuple(beam_args),
    )
    return options, args.full == "true"


def main(argv: Sequence[str] | None = None) -> int:
    from polyrel.pipeline.incremental import run_incremental

    options, full = options_from(sys.argv[1:] if argv is None else argv)
    return run_incremental(options, full=full, wait=False)


if __name__ == "__main__":
    sys.exit(main())
