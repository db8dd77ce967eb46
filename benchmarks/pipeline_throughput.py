"""`polyrel run` against the relation model alone, and DaskRunner with 2 workers against 1, on one corpus in one run.

Corpus: `--documents` distinct CrossRE English test sentences (fixed sample, seed 0), one document
each, dealt into `--files` files, gold entities given (`--ner given`), so the relation stage is what
is measured and no sentence repeats (a repeated one would share encoder passes). Same model, same
pairs, one process:
- `model`: `RelationPredictor.probabilities` on the corpus's candidate pairs (built by the
  pipeline's own stage functions, encoded beforehand) in length-sorted batches: pairs/s of the
  model alone;
- `direct`: `polyrel run` on DirectRunner;
- `dask_1`, `dask_2`: DaskRunner on a local cluster of 1 and of 2 worker processes with one
  thread each (torch pinned to 1 thread per worker), `--dask_npartitions` = `--files`.
Each run's steady-state rate leaves its fixed cost out (graph, start-up, model loading): it is
(pairs of the corpus − pairs of a one-document corpus) / (wall time − wall time on that corpus).
Ratios: direct steady / model; dask_2 steady / dask_1 steady.

    python -m benchmarks.pipeline_throughput --data ../shared/data/crossre [--model DIR] [--documents 2000] [--files 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks import results_file
from polyrel.model.relation.encoding import EncodedPair
from polyrel.model.relation.predictor import RelationPredictor
from polyrel.model.training.data import read_corpus, sample
from polyrel.pipeline import defaults
from polyrel.pipeline.options import RunOptions
from polyrel.pipeline.run import run
from polyrel.pipeline.score import document_lines, gold_documents
from polyrel.schemas.records import SentencePairs
from polyrel.transforms.entities import annotate
from polyrel.transforms.pairs import document_pairs
from polyrel.transforms.read import parse_document
from polyrel.transforms.relations import to_query
from polyrel.transforms.sentences import SplitDocument

RESULTS = Path(__file__).resolve().parent / "results" / "pipeline_throughput.json"


def crossre_corpus(data: Path, directory: Path, documents: int, files: int) -> list[str]:
    """`documents` CrossRE English test sentences (fixed sample) as JSONL documents with their gold
    entities, dealt into `files` files; returns the records."""
    sentences = sample(read_corpus(sorted(str(p) for p in (data / "en").glob("*-test.json.gz"))).sentences, documents)
    directory.mkdir(parents=True, exist_ok=True)
    records = document_lines(gold_documents(sentences))
    for i in range(files):
        (directory / f"part-{i:03d}.jsonl").write_text("".join(r + "\n" for r in records[i::files]), encoding="utf-8")
    return records


def model_rate(records: list[str], model: str) -> dict[str, Any]:
    """Pairs/s of the relation model alone on the corpus's candidate pairs (encoding done beforehand)."""
    predictor = RelationPredictor.load(model, device="cpu")
    rules = RunOptions(model=model).pair_filter(predictor.config)
    splitter = SplitDocument(None)
    encoded = []
    for line in records:
        document = parse_document(json.loads(line), "")
        [segmented] = splitter.process(document)
        *_, annotated = annotate(segmented, document.entities or (), "given")
        for item in document_pairs(annotated, rules):  # type: ignore[arg-type]
            if isinstance(item, SentencePairs):
                encoded += [predictor.encode(to_query(p)) for p in item.candidates()]
    fit = [e for e in encoded if isinstance(e, EncodedPair)]
    batch = RunOptions.__dataclass_fields__["batch_size"].default
    predictor.probabilities(fit[:64], batch)  # warm-up
    started = time.perf_counter()
    predictor.probabilities(fit, batch)
    seconds = time.perf_counter() - started
    return {"pairs": len(fit), "seconds": round(seconds, 2), "pairs_per_s": round(len(fit) / seconds, 1)}


def wall_time(corpus: Path, model: str, out: Path, runner: str = "DirectRunner", beam_args: tuple[str, ...] = ()) -> float:
    options = RunOptions(model=model, inputs=(str(corpus),), output=str(out), ner="given", run_id="bench", runner=runner,
                         beam_args=beam_args)
    started = time.perf_counter()
    run(options)
    return time.perf_counter() - started


def steady(pairs: int, one_doc_pairs: int, seconds: float, one_doc_seconds: float) -> dict[str, Any]:
    rate = (pairs - one_doc_pairs) / max(seconds - one_doc_seconds, 1e-9)
    return {"seconds": round(seconds, 2), "fixed_seconds": round(one_doc_seconds, 2), "steady_pairs_per_s": round(rate, 1)}


def dask_runs(big: Path, small: Path, model: str, work: Path, workers: int, partitions: int) -> tuple[float, float]:
    """Wall times of the corpus and of the one-document corpus on a local cluster of `workers` 1-thread processes."""
    import dask.distributed

    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "POLYREL_QUIET": "1"}
    with dask.distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                       env=env) as cluster:
        args = (f"--dask_client_address={cluster.scheduler_address}", f"--dask_npartitions={partitions}")
        one = wall_time(small, model, work / f"dask{workers}-small", "DaskRunner", args)
        full = wall_time(big, model, work / f"dask{workers}-big", "DaskRunner", args)
    return full, one


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the crossre folder (en/*-test.json.gz)")
    parser.add_argument("--model", default=defaults.default_model_dir(), help="relation model directory (default: the shipped one)")
    parser.add_argument("--documents", type=int, default=2000, help="documents in the corpus (default: %(default)s)")
    parser.add_argument("--files", type=int, default=8, help="files the corpus is dealt into (default: %(default)s)")
    parser.add_argument("--no-dask", dest="dask", action="store_false", help="skip the DaskRunner runs")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("POLYREL_QUIET", "1")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        records = crossre_corpus(args.data, work / "big", args.documents, args.files)
        one_doc = crossre_corpus(args.data, work / "small", 1, 1)
        model = model_rate(records, args.model)
        small_pairs = model_rate(one_doc, args.model)["pairs"]
        direct = steady(model["pairs"], small_pairs, wall_time(work / "big", args.model, work / "direct-big"),
                        wall_time(work / "small", args.model, work / "direct-small"))
        result: dict[str, Any] = {
            "command": results_file.command("benchmarks.pipeline_throughput", argv),
            "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()},"
                       f" torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs",
            "model": results_file.model_label(args.model), "ner": "given", "documents": args.documents,
            "files": args.files, "pairs": model["pairs"], "model_alone": model, "direct": direct,
            "direct_over_model": round(direct["steady_pairs_per_s"] / model["pairs_per_s"], 3),
        }
        if args.dask:
            dask = {f"dask_{n}": steady(model["pairs"], small_pairs, *dask_runs(work / "big", work / "small", args.model,
                                                                               work, n, args.files)) for n in (1, 2)}
            result.update(dask)
            result["dask_2_over_dask_1"] = round(dask["dask_2"]["steady_pairs_per_s"] / dask["dask_1"]["steady_pairs_per_s"], 3)
    results_file.write(args.results, result)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
