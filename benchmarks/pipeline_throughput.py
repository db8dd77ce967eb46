"""Throughput of `polyrel run` on DirectRunner: the sample corpus, repeated to a measurable size.

Two runs in one process on the same corpus and model: a baseline with inference batch size 1
and the default batching (length-bucketed batches of --batch-size). Reports documents/s and
pairs/s for each and the batched/baseline ratio, and writes JSON with the command line.

    python -m benchmarks.pipeline_throughput --model MODEL_DIR [--repeat 20] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks import results_file
from polyrel.pipeline import defaults
from polyrel.pipeline.options import RunOptions
from polyrel.pipeline.run import run

RESULTS = Path(__file__).resolve().parent / "results" / "pipeline_throughput.json"


def repeated_corpus(directory: Path, repeat: int) -> Path:
    """The sample JSONL `repeat` times over, with ids made unique per copy."""
    lines = (defaults.SAMPLE_DIR / "news.jsonl").read_text(encoding="utf-8").splitlines()
    path = directory / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for copy in range(repeat):
            for line in lines:
                record = json.loads(line)
                record["id"] = f"{record['id']}#{copy}"
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def measure(corpus: Path, model: str, out: Path, batch_size: int, ner: str) -> dict[str, Any]:
    options = RunOptions(model=model, inputs=(str(corpus),), output=str(out), batch_size=batch_size, run_id="bench",
                         ner=ner)
    start = time.perf_counter()
    report = run(options)
    seconds = time.perf_counter() - start
    counters = report.counters or {}
    return {
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "documents": counters.get("documents", 0),
        "pairs": counters.get("pairs", 0),
        "relations": counters.get("relations", 0),
        "documents_per_s": round(counters.get("documents", 0) / seconds, 2),
        "pairs_per_s": round(counters.get("pairs", 0) / seconds, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=defaults.default_model_dir(), help="relation model directory (default: the shipped one)")
    parser.add_argument("--ner", default="given", help="entity source; `given` isolates the relation stage (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=20, help="copies of the sample corpus (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=RunOptions.__dataclass_fields__["batch_size"].default)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = repeated_corpus(Path(tmp), args.repeat)
        baseline = measure(corpus, args.model, Path(tmp) / "baseline", 1, args.ner)
        batched = measure(corpus, args.model, Path(tmp) / "batched", args.batch_size, args.ner)
    result = {
        "command": results_file.command("benchmarks.pipeline_throughput", argv),
        "runner": "DirectRunner",
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()},"
                   f" torch threads {torch.get_num_threads()}",
        "model": results_file.model_label(args.model),
        "ner": args.ner,
        "repeat": args.repeat,
        "baseline": baseline,
        "batched": batched,
        "pairs_per_s_ratio": round(batched["pairs_per_s"] / baseline["pairs_per_s"], 2) if baseline["pairs_per_s"] else None,
    }
    results_file.write(args.results, result)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
