"""Two relation model directories side by side: is a candidate default better than the baseline?

Both models score the same fixed sample of test sentences (`model.training.data.sample`, seed 0) of each
language in the same run, as `polyrel evaluate --sample` does: extract-mode micro-F1 without
"no relation" and macro-F1 (fractions, as `polyrel evaluate` reports them), the seconds each took, and the size of each `model.safetensors`.
Prints and records candidate ÷ baseline for each.

    python -m benchmarks.relation_models --data ../shared/data/crossre \\
        --baseline model/pretrained/relation-e5-small --candidate runs/relation-top1

Writes the results and the command to `benchmarks/results/relation_models.json` (`--results`).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from benchmarks import results_file
from polyrel.model.relation.predictor import RelationPredictor
from polyrel.model.relation.training import build_instances, evaluate_instances
from polyrel.model.training.data import read_corpus, sample

RESULTS = Path(__file__).resolve().parent / "results" / "relation_models.json"
LANGUAGES = ("en", "german", "spanish", "chinese", "japanese")


def scores(directory: Path, data: Path, languages: list[str], size: int, batch_size: int) -> dict[str, dict[str, float]]:
    predictor = RelationPredictor.load(directory, device="cpu")
    out = {}
    for language in languages:
        sentences = sample(read_corpus(sorted(str(p) for p in (data / language).glob("*-test.json.gz"))).sentences, size)
        started = time.perf_counter()
        report = evaluate_instances(predictor, build_instances(sentences, predictor.encoder, "extract", predictor.config.pairs), batch_size)
        out[language] = {"micro_precision": report.micro_precision, "micro_recall": report.micro_recall,
                         "micro_f1": report.micro_f1, "macro_f1": report.macro_f1, "n_pairs": report.n_pairs,
                         "sentences": len(sentences), "seconds": round(time.perf_counter() - started, 1)}
        print(f"{directory} {language}: micro/macro F1 {100 * report.micro_f1:.1f} / {100 * report.macro_f1:.1f}"
              f" ({report.n_pairs} pairs, {out[language]['seconds']} s)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the crossre directory (one folder per language)")
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--candidate", type=Path, required=True)
    parser.add_argument("--languages", nargs="+", default=list(LANGUAGES))
    parser.add_argument("--sample", type=int, default=300, help="test sentences per language")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    models = {name: scores(directory, args.data, args.languages, args.sample, args.batch_size)
              for name, directory in (("baseline", args.baseline), ("candidate", args.candidate))}
    ratios = {language: {metric: round(models["candidate"][language][metric] / models["baseline"][language][metric], 3)
                         if models["baseline"][language][metric] else None for metric in ("micro_f1", "macro_f1", "seconds")}
              for language in args.languages}
    out = {
        "command": results_file.command("benchmarks.relation_models", argv),
        "machine": {"host": platform.node(), "threads": torch.get_num_threads(), "torch": torch.__version__},
        "sample_sentences": args.sample,
        "models": {name: {"directory": str(directory), "model": results_file.model_label(directory),
                          "weights_bytes": (directory / "model.safetensors").stat().st_size,
                          "test": models[name]}
                   for name, directory in (("baseline", args.baseline), ("candidate", args.candidate))},
        "candidate_over_baseline": ratios,
    }
    for language, ratio in ratios.items():
        print(f"{language}: candidate/baseline micro {ratio['micro_f1']}, macro {ratio['macro_f1']}, time {ratio['seconds']}")
    results_file.write(args.results, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
