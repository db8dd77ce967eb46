"""Relation-model inference in float32 and bf16 on the same pairs, in one run.

The model scores every ordered pair of gold entities of a fixed sample of CrossRE English test
sentences (seed 0, as `polyrel evaluate --sample`) twice: weights in float32, then in bf16 (what
`--precision auto` picks on a CPU or GPU with native bf16). Recorded: pairs/s of each (encoding
excluded: both score the same encoded pairs), the share of pairs given the same decision, the
largest probability difference, and micro/macro-F1 of each.

    python -m benchmarks.inference_precision --data ../shared/data/crossre [--model DIR] [--sample 300]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks import results_file
from polyrel.model.data import read_corpus, sample
from polyrel.model.precision import cpu_has_bf16
from polyrel.model.predictor import RelationPredictor
from polyrel.model.relation_training import build_instances, decode, score_instances
from polyrel.pipeline import defaults

RESULTS = Path(__file__).resolve().parent / "results" / "inference_precision.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the crossre folder (en/*-test.json.gz)")
    parser.add_argument("--model", type=Path, default=Path(defaults.default_model_dir()), help="relation model directory")
    parser.add_argument("--sample", type=int, default=300, help="test sentences (fixed, seed 0)")
    parser.add_argument("--batch-size", type=int, default=64, help="distinct inputs per forward pass")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the record goes")
    args = parser.parse_args(argv)
    sentences = sample(read_corpus(sorted(str(p) for p in (args.data / "en").glob("*-test.json.gz"))).sentences, args.sample)
    runs, probabilities = {}, {}
    for precision in ("fp32", "bf16"):
        predictor = RelationPredictor.load(args.model, device="cpu", precision=precision)
        instances = build_instances(sentences, predictor.encoder, predictor.config.task)
        fit = [i for i in instances if i.encoded is not None]
        predictor.probabilities([i.encoded for i in fit[:64]], args.batch_size)  # warm-up
        started = time.perf_counter()
        probs = predictor.probabilities([i.encoded for i in fit], args.batch_size)
        seconds = time.perf_counter() - started
        report = score_instances(instances, fit, probs, predictor.config)
        probabilities[precision] = (probs, predictor.config)
        runs[precision] = {"pairs": len(fit), "seconds": round(seconds, 2), "pairs_per_s": round(len(fit) / seconds, 1),
                           "micro_f1": round(report.micro_f1, 4), "macro_f1": round(report.macro_f1, 4)}
        print(f"{precision}: {runs[precision]}", flush=True)
    (p32, config), (p16, _) = probabilities["fp32"], probabilities["bf16"]
    agreement = float(np.mean([a == b for a, b in zip(decode(p32, config), decode(p16, config))]))
    record = {
        "command": results_file.command("benchmarks.inference_precision", argv),
        "machine": {"host": platform.node(), "threads": torch.get_num_threads(), "torch": torch.__version__,
                    "cpu_bf16": cpu_has_bf16()},
        "model": results_file.model_label(args.model), "sentences": len(sentences), "runs": runs,
        "bf16_over_fp32_speed": round(runs["bf16"]["pairs_per_s"] / runs["fp32"]["pairs_per_s"], 2),
        "decision_agreement": round(agreement, 4),
        "max_probability_difference": round(float(np.abs(p32 - p16).max()), 4),
        "micro_f1_difference_points": round(100 * (runs["bf16"]["micro_f1"] - runs["fp32"]["micro_f1"]), 2),
    }
    results_file.write(args.results, record)
    print(record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
