"""Which words should the relation model read for Chinese and Japanese documents?

The pipeline's embedded tokenizer makes every Han/Kana character a token, so entity spans
always align. This benchmark scores one relation model on Multi-CrossRE test sentences
(gold entities, every ordered pair, extract mode) read four ways, in the same run:

- `dataset`: the dataset's own word segmentation (the reference: what evaluation uses);
- `characters`: the pipeline's character tokens as words (the baseline);
- `runs`: touching character tokens joined into runs, cut at the pair's entity boundaries;
- `segmenter`: character tokens joined into the words of a dictionary segmenter (jieba,
  Janome), cut at the entity boundaries: what the pipeline reads (`transforms/words.py`).

    python -m benchmarks.cjk_words --data ../shared/data/crossre --sentences 150

Writes micro/macro-F1 per language and scheme, the runs/characters and segmenter/characters
ratios, and the command to `benchmarks/results/cjk_words.json`.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable, Container, Iterator
from functools import lru_cache
from pathlib import Path

from benchmarks import results_file
from polyrel.model.relation.predictor import PairQuery, RelationPredictor
from polyrel.model.training.data import read_corpus, sample
from polyrel.model.training.metrics import score
from polyrel.pipeline import defaults
from polyrel.schemas.records import Entity, Sentence, Token
from polyrel.transforms.segment import token_span, tokenize
from polyrel.transforms.words import join_words, word_starts

RESULTS = Path(__file__).resolve().parent / "results" / "cjk_words.json"
Reader = Callable[[Sentence, Entity, Entity], PairQuery]


def covering(tokens: tuple[Token, ...], entity: Entity) -> tuple[int, int]:
    """The token span covering the entity's characters (gold entities always cover one)."""
    span = token_span(tokens, entity.start, entity.end)  # type: ignore[arg-type]
    if span is None:
        raise ValueError(f"entity {entity} covers no token of its sentence")
    return span


def dataset_words(sentence: Sentence, head: Entity, tail: Entity) -> PairQuery:
    return PairQuery(sentence.words, head, tail)


@lru_cache(maxsize=1024)
def sentence_tokens(text: str) -> tuple[Token, ...]:
    """The pipeline's tokens of a sentence, once per sentence rather than once per pair."""
    return tokenize(text)


def character_words(sentence: Sentence, head: Entity, tail: Entity) -> PairQuery:
    tokens = sentence_tokens(sentence.text)
    return PairQuery(tuple(t.text for t in tokens), *(Entity.over_tokens(*covering(tokens, e), e.type) for e in (head, tail)))


def joined_words(sentence: Sentence, head: Entity, tail: Entity, boundaries: Container[int] | None) -> PairQuery:
    tokens = sentence_tokens(sentence.text)
    words, spans = join_words(tokens, [covering(tokens, e) for e in (head, tail)], boundaries)
    return PairQuery(words, *(Entity.over_tokens(*span, e.type) for span, e in zip(spans, (head, tail))))


def run_words(sentence: Sentence, head: Entity, tail: Entity) -> PairQuery:
    return joined_words(sentence, head, tail, None)


def segmenter_words(sentence: Sentence, head: Entity, tail: Entity) -> PairQuery:
    starts = word_starts(sentence.text, sentence.lang)
    if starts is None:
        raise ValueError(f"no word segmenter for language {sentence.lang!r}")
    return joined_words(sentence, head, tail, starts)


SCHEMES: dict[str, Reader] = {
    "dataset": dataset_words, "characters": character_words, "runs": run_words, "segmenter": segmenter_words,
}


def pairs(sentences: list[Sentence]) -> Iterator[tuple[Sentence, Entity, Entity, frozenset[str]]]:
    for sentence in sentences:
        gold = {(r.head, r.tail): frozenset(r.labels) for r in sentence.relations}
        for h, head in enumerate(sentence.entities):
            for t, tail in enumerate(sentence.entities):
                if h != t:
                    yield sentence, head, tail, gold.get((h, t), frozenset())


def sample_arguments(doc: str | None, results: Path) -> argparse.ArgumentParser:
    """The options the CJK benchmarks share: data, languages, model, sample size, results file."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="Multi-CrossRE folder (one sub-folder per language)")
    parser.add_argument("--languages", nargs="+", default=["chinese", "japanese"])
    parser.add_argument("--model", default=defaults.default_model_dir(),
                        help="relation model directory (default: $POLYREL_MODEL, else the shipped one)")
    parser.add_argument("--sentences", type=int, default=150, help="test sentences sampled per language")
    parser.add_argument("--results", type=Path, default=results)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = sample_arguments(__doc__, RESULTS).parse_args(argv)
    predictor = RelationPredictor.load(args.model)
    labels = predictor.config.labels
    out: dict[str, object] = {
        "command": results_file.command("benchmarks.cjk_words", argv),
        "model": results_file.model_label(args.model), "machine": platform.node(),
        "device": predictor.device, "sentences_per_language": args.sentences, "languages": {},
    }
    for language in args.languages:
        files = sorted(str(p) for p in (args.data / language).glob("*-test.json.gz"))
        sentences = sample(read_corpus(files).sentences, args.sentences)
        candidates = list(pairs(sentences))
        gold = [g for *_, g in candidates]
        results: dict[str, dict[str, float]] = {}
        for name, reader in SCHEMES.items():
            started = time.perf_counter()
            predictions = predictor.predict([reader(s, h, t) for s, h, t, _ in candidates], batch_size=64)
            report = score(gold, [frozenset({p.label}) if p.label else frozenset() for p in predictions], labels)
            results[name] = {"micro_f1": report.micro_f1, "macro_f1": report.macro_f1,
                             "skipped": sum(p.skipped is not None for p in predictions),
                             "seconds": round(time.perf_counter() - started, 1)}
            print(f"{language} {name}: micro-F1 {100 * report.micro_f1:.1f}, macro-F1 {100 * report.macro_f1:.1f}"
                  f" ({len(candidates)} pairs)", flush=True)
        characters = results["characters"]["micro_f1"]
        out["languages"][language] = {  # type: ignore[index]
            "sentences": len(sentences), "pairs": len(candidates), "gold_relations": sum(bool(g) for g in gold),
            "schemes": results,
            **{f"{name}_over_characters_micro": round(results[name]["micro_f1"] / characters, 3) if characters else None
               for name in ("runs", "segmenter")},
        }
    results_file.write(args.results, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
