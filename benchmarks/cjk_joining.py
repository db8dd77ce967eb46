"""Should Chinese and Japanese words reach the encoder spaced or as written?

`PairEncoder` sub-tokenises word by word, so every word gets SentencePiece's word-start piece
"▁" as if spaces separated the words (`spaced`, how the grid's models were trained). Running
Chinese or Japanese text has no spaces, and the encoder was pretrained on it that way; `as_written`
drops the word-start piece between two words written flush together. This benchmark scores one
relation model on Multi-CrossRE test sentences (gold entities, every ordered pair, extract mode)
both ways in the same run, for the dataset's words (what evaluation reads) and the pipeline's
segmenter words (`benchmarks/cjk_words.py`), and reports F1, sub-tokens per pair and seconds.

    python -m benchmarks.cjk_joining --data ../shared/data/crossre --sentences 150 --model DIR

Writes the results, the as_written ÷ spaced ratios and the command to
`benchmarks/results/cjk_joining.json`.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time
from pathlib import Path

from benchmarks import results_file
from benchmarks.cjk_words import SCHEMES, pairs, sample_arguments
from polyrel.model.choices import WORD_JOININGS
from polyrel.model.relation.encoding import EncodedPair
from polyrel.model.relation.predictor import RelationPredictor
from polyrel.model.training.data import read_corpus, sample
from polyrel.model.training.metrics import score

RESULTS = Path(__file__).resolve().parent / "results" / "cjk_joining.json"
COMPARED = ("dataset", "segmenter")


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return round(value / baseline, 3) if value is not None and baseline else None


def main(argv: list[str] | None = None) -> int:
    args = sample_arguments(__doc__, RESULTS).parse_args(argv)
    predictor = RelationPredictor.load(args.model)
    config = predictor.config
    out: dict[str, object] = {
        "command": results_file.command("benchmarks.cjk_joining", argv),
        "model": results_file.model_label(args.model), "model_trained_with": config.word_joining,
        "machine": platform.node(), "device": predictor.device, "sentences_per_language": args.sentences,
        "languages": {},
    }
    for language in args.languages:
        files = sorted(str(p) for p in (args.data / language).glob("*-test.json.gz"))
        sentences = sample(read_corpus(files).sentences, args.sentences)
        candidates = list(pairs(sentences))
        gold = [g for *_, g in candidates]
        results: dict[str, dict[str, dict[str, float | None]]] = {}
        for scheme in COMPARED:
            queries = [SCHEMES[scheme](s, h, t) for s, h, t, _ in candidates]
            results[scheme] = {}
            for joining in WORD_JOININGS:
                predictor.encoder = dataclasses.replace(config, word_joining=joining).pair_encoder(  # type: ignore[arg-type]
                    predictor.encoder.tokenizer)
                started = time.perf_counter()
                predictions = predictor.predict(queries, batch_size=64)
                seconds = time.perf_counter() - started
                report = score(gold, [frozenset(label for label, _ in p.labels) for p in predictions], config.labels)
                lengths = [len(e.input_ids) for e in map(predictor.encode, queries) if isinstance(e, EncodedPair)]
                results[scheme][joining] = {
                    "micro_f1": report.micro_f1, "macro_f1": report.macro_f1,
                    "skipped": sum(p.skipped is not None for p in predictions),
                    "subtokens_per_pair": round(sum(lengths) / max(len(lengths), 1), 1), "seconds": round(seconds, 1),
                }
                print(f"{language} {scheme} {joining}: micro-F1 {100 * report.micro_f1:.1f}, macro-F1"
                      f" {100 * report.macro_f1:.1f}, {results[scheme][joining]['subtokens_per_pair']} sub-tokens per pair,"
                      f" {seconds:.0f} s ({len(candidates)} pairs)", flush=True)
            spaced, written = results[scheme]["spaced"], results[scheme]["as_written"]
            results[scheme]["as_written_over_spaced"] = {
                key: _ratio(written[key], spaced[key]) for key in ("micro_f1", "seconds")}
        out["languages"][language] = {  # type: ignore[index]
            "sentences": len(sentences), "pairs": len(candidates), "gold_relations": sum(bool(g) for g in gold),
            "schemes": results,
        }
    results_file.write(args.results, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
