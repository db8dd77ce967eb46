"""The shipped default models scored alone, as the model card reports them.

NER: entity-level micro/macro-F1 (span and type) on the whole test set of each language.
Relation: extract-mode micro/macro-F1 over every ordered pair of gold entities, on a fixed sample
of test sentences per language (seed 0, as `polyrel evaluate --sample`), at the model's own
decision (its `config.json` threshold). End-to-end figures come from `polyrel score`
(benchmarks/results/end_to_end/).

    python -m benchmarks.shipped_scores --data ../shared/data/crossre [--sample 300]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch

from benchmarks import results_file
from polyrel.model.ner.modeling import EntityRecognizer
from polyrel.model.ner.training import evaluate_ner
from polyrel.model.relation.predictor import RelationPredictor
from polyrel.model.relation.training import build_instances, evaluate_instances
from polyrel.model.training.data import read_corpus, sample
from polyrel.pipeline import defaults

RESULTS = Path(__file__).resolve().parent / "results" / "defaults" / "shipped.json"
LANGUAGES = ("en", "german", "spanish", "chinese", "japanese")


def test_files(data: Path, language: str) -> list[str]:
    return sorted(str(p) for p in (data / language).glob("*-test.json.gz"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the crossre folder (one folder per language)")
    parser.add_argument("--model", type=Path, default=Path(defaults.default_model_dir()), help="relation model directory")
    parser.add_argument("--ner-model", type=Path, default=Path(defaults.default_ner_dir()), help="NER model directory")
    parser.add_argument("--sample", type=int, default=300, help="relation: test sentences per language (seed 0)")
    parser.add_argument("--languages", nargs="+", default=list(LANGUAGES), help="language folders scored")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the record goes")
    args = parser.parse_args(argv)
    recognizer = EntityRecognizer.load(args.ner_model, device="cpu")
    predictor = RelationPredictor.load(args.model, device="cpu")
    ner, relation = {}, {}
    for language in args.languages:
        sentences = read_corpus(test_files(args.data, language)).sentences
        report = evaluate_ner(recognizer, sentences)
        ner[language] = {"micro_f1": round(report.micro_f1, 4), "macro_f1": round(report.macro_f1, 4),
                         "micro_precision": round(report.micro_precision, 4), "sentences": len(sentences)}
        chosen = sample(sentences, args.sample)
        report = evaluate_instances(predictor, build_instances(chosen, predictor.encoder, predictor.config.task, predictor.config.pairs))
        relation[language] = {"micro_f1": round(report.micro_f1, 4), "macro_f1": round(report.macro_f1, 4),
                              "micro_precision": round(report.micro_precision, 4),
                              "micro_recall": round(report.micro_recall, 4), "sentences": len(chosen)}
        print(f"{language}: NER {ner[language]}; relation {relation[language]}", flush=True)
    record = {
        "command": results_file.command("benchmarks.shipped_scores", argv),
        "machine": {"host": platform.node(), "threads": torch.get_num_threads(), "torch": torch.__version__},
        "note": "NER: whole test sets; relation: gold entities, every ordered pair, the model's own threshold",
        "models": {
            "relation-e5-small": {"model": results_file.model_label(args.model), "threshold": predictor.config.threshold,
                                  "test": relation},
            "ner-e5-small": {"model": results_file.model_label(args.ner_model), "test": ner},
        },
    }
    results_file.write(args.results, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
