"""`polyrel score`: the product's own measure, triples and entities end to end from raw text.

Annotated sentences (CrossRE / Multi-CrossRE) become one document each — the detokenized text
of a translation, or English tokens joined back into text with their offsets kept — and go
through the real pipeline (`pipeline.run`) with the chosen NER and relation models. What it
writes is scored against the annotation by character spans:

- triples, exact: head span, tail span and label all equal a gold triple;
- triples, relaxed: the head and tail overlap a gold triple's (one-to-one), label equal;
- entities: span and type, and span only.

Precision, recall and F1 per language and over all. `--sweep` runs once at threshold 0 (every
pair keeps its best label and score) and traces triple precision/recall over thresholds, which
is exactly what `--threshold T` would write, and picks the threshold of best F1 with precision
at least `--min-precision`. Sentences are chosen by id (`--sample N`, seed 0), so every language
scores the same sentences; pick thresholds on dev files, never on test.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyrel.model.choices import PRECISIONS
from polyrel.schemas.records import Sentence

Span = tuple[int, int]


@dataclass
class GoldDocument:
    id: str
    lang: str
    text: str
    entities: set[tuple[Span, str]] = field(default_factory=set)
    triples: set[tuple[Span, Span, str]] = field(default_factory=set)


def gold_documents(sentences: Iterable[Sentence]) -> list[GoldDocument]:
    """One document per annotated sentence (`model.training.data`), spans in characters."""
    docs = []
    for s in sentences:
        spans = [(e.start, e.end) for e in s.entities]
        doc = GoldDocument(f"{s.lang}/{s.doc_id}", s.lang, s.text)
        doc.entities = {(span, e.type) for span, e in zip(spans, s.entities)}
        doc.triples = {(spans[r.head], spans[r.tail], label) for r in s.relations for label in r.labels}
        docs.append(doc)
    return docs


def document_lines(docs: Sequence[GoldDocument]) -> list[str]:
    """The pipeline's JSONL input, one line per document by id: text, language and the gold
    entities (read by `--ner given`)."""
    return [json.dumps({"id": d.id, "text": d.text, "lang": d.lang,
                        "entities": [{"start": s, "end": e, "type": t} for (s, e), t in sorted(d.entities)]},
                       ensure_ascii=False) for d in sorted(docs, key=lambda d: d.id)]


def write_documents(docs: Sequence[GoldDocument], path: Path) -> None:
    path.write_text("".join(line + "\n" for line in document_lines(docs)), encoding="utf-8")


@dataclass
class Counts:
    tp: int = 0
    predicted: int = 0
    gold: int = 0

    def add(self, tp: int, predicted: int, gold: int) -> None:
        self.tp += tp
        self.predicted += predicted
        self.gold += gold

    def as_dict(self) -> dict[str, float]:
        p = self.tp / self.predicted if self.predicted else 0.0
        r = self.tp / self.gold if self.gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                "tp": self.tp, "predicted": self.predicted, "gold": self.gold}


def overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def relaxed_matches(predicted: set[tuple[Span, Span, str]], gold: set[tuple[Span, Span, str]]) -> int:
    """Predicted triples matched one-to-one to gold ones of the same label whose head and tail they overlap."""
    free = set(gold)
    hits = 0
    for head, tail, label in sorted(predicted):
        match = next((g for g in sorted(free) if g[2] == label and overlaps(head, g[0]) and overlaps(tail, g[1])), None)
        if match is not None:
            free.discard(match)
            hits += 1
    return hits


WRONG_TRIPLE_KINDS = ("entity_span", "no_relation", "reversed", "wrong_label")


def wrong_triple_kind(triple: tuple[Span, Span, str], doc: GoldDocument, gold_spans: set[Span]) -> str:
    """Why a written triple is not a gold one: a head or tail span that is no gold entity's, gold
    entities with no gold relation between them, the gold label the other way round, or another label."""
    head, tail, label = triple
    if head not in gold_spans or tail not in gold_spans:
        return "entity_span"
    between = {(h, t, l) for h, t, l in doc.triples if {h, t} == {head, tail}}
    if not between:
        return "no_relation"
    return "reversed" if (tail, head, label) in between else "wrong_label"


@dataclass(frozen=True)
class Output:
    """What a run wrote, by document: triples and entities with their scores (None: given entities)."""

    triples: dict[str, dict[tuple[Span, Span, str], float]]
    entities: dict[str, dict[tuple[Span, str], float | None]]


def read_output(out_dir: str) -> Output:
    import pyarrow.parquet as pq

    triples: dict[str, dict[tuple[Span, Span, str], float]] = defaultdict(dict)
    for row in pq.read_table(f"{out_dir}/triples").to_pylist():
        key = ((row["head_start"], row["head_end"]), (row["tail_start"], row["tail_end"]), row["relation"])
        kept = triples[row["doc_id"]]
        kept[key] = max(kept.get(key, 0.0), float(row["score"]))
    entities: dict[str, dict[tuple[Span, str], float | None]] = defaultdict(dict)
    for row in pq.read_table(f"{out_dir}/entities").to_pylist():
        entities[row["doc_id"]][((row["entity_start"], row["entity_end"]), row["entity_type"])] = row["score"]
    return Output(triples, entities)


def score_output(docs: Sequence[GoldDocument], output: Output, threshold: float = 0.0,
                 entity_floor: float = 0.0) -> dict[str, Any]:
    """P/R/F1 per language and over all documents, counting triples scored at least `threshold`
    whose entities, like the entities counted, the NER scored at least `entity_floor`."""
    metrics = ("triples_exact", "triples_relaxed", "entities_typed", "entities_span")
    counts: dict[str, dict[str, Counts]] = defaultdict(lambda: {m: Counts() for m in metrics})
    wrong: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(WRONG_TRIPLE_KINDS, 0))
    for doc in docs:
        entities = output.entities.get(doc.id, {})
        found = {k for k, s in entities.items() if s is None or s >= entity_floor}
        dropped = {span for (span, _), s in entities.items() if s is not None and s < entity_floor}
        predicted = {k for k, s in output.triples.get(doc.id, {}).items()
                     if s >= threshold and k[0] not in dropped and k[1] not in dropped}
        gold_spans = {s for s, _ in doc.entities}
        kinds = [wrong_triple_kind(t, doc, gold_spans) for t in predicted - doc.triples]
        for lang in (doc.lang, "all"):
            for kind in kinds:
                wrong[lang][kind] += 1
            c = counts[lang]
            c["triples_exact"].add(len(predicted & doc.triples), len(predicted), len(doc.triples))
            c["triples_relaxed"].add(relaxed_matches(predicted, doc.triples), len(predicted), len(doc.triples))
            c["entities_typed"].add(len(found & doc.entities), len(found), len(doc.entities))
            spans = {s for s, _ in found}
            c["entities_span"].add(len(spans & gold_spans), len(spans), len(gold_spans))
    return {lang: {**{m: c.as_dict() for m, c in by.items()}, "wrong_triples": wrong[lang]}
            for lang, by in sorted(counts.items())}


ENTITY_FLOORS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def sweep(docs: Sequence[GoldDocument], output: Output, min_precision: float,
          entity_floors: Sequence[float] = ENTITY_FLOORS) -> dict[str, Any]:
    """Triple precision/recall/F1 (exact, over all documents) at relation thresholds 0.00…1.00 for
    each entity confidence floor, and the (threshold, floor) of best F1 among those with precision ≥
    `min_precision`; where none reaches that precision, the best F1 overall (`precision_floor_met`
    False says so). `curve` is the chosen floor's; `by_entity_floor` the best point of each floor."""
    curves = {f: [{"threshold": step / 100, "entity_floor": f,
                   **score_output(docs, output, step / 100, f)["all"]["triples_exact"]} for step in range(101)]
              for f in entity_floors}
    points = [c for curve in curves.values() for c in curve if c["predicted"]]
    eligible = [c for c in points if c["precision"] >= min_precision]
    best = max(eligible or points, key=lambda c: (c["f1"], -c["threshold"], -c["entity_floor"]), default=None)
    by_floor = [max((c for c in curve if c["predicted"]), key=lambda c: (c["f1"], -c["threshold"]), default=None)
                for curve in curves.values()]
    return {"min_precision": min_precision, "precision_floor_met": bool(eligible), "chosen": best,
            "curve": curves[best["entity_floor"] if best else entity_floors[0]],
            "by_entity_floor": [b for b in by_floor if b]}


def plot_curve(result: dict[str, Any], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = result["curve"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([c["recall"] for c in curve], [c["precision"] for c in curve], marker=".", markersize=3)
    ax.axhline(result["min_precision"], color="grey", linestyle="--", linewidth=0.8)
    if result["chosen"]:
        c = result["chosen"]
        ax.plot([c["recall"]], [c["precision"]], "o", color="red", label=f"threshold {c['threshold']:.2f}")
        ax.legend()
    ax.set_xlabel("triple recall (exact)")
    ax.set_ylabel("triple precision (exact)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_setting(model_dir: str, key: str, value: float) -> None:
    """Make `value` a model's default `key` in its config.json: the relation model's `threshold`,
    the NER model's `min_score`."""
    path = Path(model_dir) / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config[key] = value
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "score", help="score the pipeline end to end (triples and entities from raw text) on annotated data",
        description=__doc__.split("\n\n")[0],
        epilog="example: polyrel score --data crossre/en/*-test.json.gz --sample 300 --report en.json",
    )
    parser.add_argument("--data", nargs="+", required=True, help="CrossRE / Multi-CrossRE files (.json.gz); the folder names the language")
    parser.add_argument("--sample", type=int, help="score the sentences of this many ids (fixed, seed 0; the same ids in every language)")
    parser.add_argument("--model", help="relation model directory (default: $POLYREL_MODEL, else the shipped model)")
    parser.add_argument("--ner", default="polyrel", help="entity source: polyrel (NER model) or given (the gold entities)")
    parser.add_argument("--ner-model", help="NER model directory (default: $POLYREL_NER_MODEL, else the shipped model)")
    parser.add_argument("--threshold", type=float, help="relation threshold (default: the model's own)")
    parser.add_argument("--sweep", action="store_true", help="trace precision/recall over thresholds and pick one")
    parser.add_argument("--min-precision", type=float, default=0.5, help="--sweep: the precision the threshold must keep")
    parser.add_argument("--curve-png", help="--sweep: draw the precision-recall curve here")
    parser.add_argument("--save-threshold", action="store_true",
                        help="--sweep: store the chosen threshold in the relation model's config.json and the entity"
                        " floor in the NER model's (their defaults from then on)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="models compute in bf16 where the hardware has it natively (auto), or as forced")
    parser.add_argument("--restrict-type-pairs", action="store_true",
                        help="score only entity pairs whose (head type, tail type) the relation model saw related in training")
    parser.add_argument("--report", help="write the JSON report here")
    parser.add_argument("--keep-output", help="write the pipeline's tables here instead of a temporary folder")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from polyrel.model.encoders.backbone import weights_label
    from polyrel.model.training.data import heldout_keys, read_corpus
    from polyrel.pipeline.options import RunOptions
    from polyrel.pipeline.run import run

    corpus = read_corpus(args.data)
    sentences = corpus.sentences
    if args.sample is not None:
        keys = heldout_keys(sentences, args.sample)
        sentences = [s for s in sentences if s.doc_id in keys]
    docs = gold_documents(sentences)
    threshold = 0.0 if args.sweep else args.threshold
    with tempfile.TemporaryDirectory(prefix="polyrel-score-") as tmp:
        inputs = Path(tmp, "documents.jsonl")
        write_documents(docs, inputs)
        out = args.keep_output or str(Path(tmp, "out"))
        options = RunOptions(model=args.model, inputs=(str(inputs),), output=out, ner=args.ner, ner_model=args.ner_model,
                             threshold=threshold, min_entity_score=0.0 if args.sweep else None, precision=args.precision,
                             restrict_type_pairs=args.restrict_type_pairs, run_id="score")
        report = run(options)
        output = read_output(out)
    model, ner_model = str(options.model), options.ner_model
    result: dict[str, Any] = {
        "command": shlex.join(["polyrel", *sys.argv[1:]]) if sys.argv[0].endswith("polyrel") else None,
        "data": list(args.data), "sample_ids": args.sample, "documents": len(docs),
        "languages": dict(sorted({d.lang: sum(x.lang == d.lang for x in docs) for d in docs}.items())),
        "model": weights_label(model), "ner": args.ner,
        "ner_model": weights_label(ner_model) if args.ner == "polyrel" else None,
        "threshold": threshold, "precision": args.precision, "restrict_type_pairs": args.restrict_type_pairs,
        "counters": report.counters,
        "scores": score_output(docs, output, threshold or 0.0),
    }
    if args.sweep:
        result["sweep"] = sweep(docs, output, args.min_precision, ENTITY_FLOORS if args.ner == "polyrel" else (0.0,))
        chosen = result["sweep"]["chosen"]
        if chosen:
            result["scores_at_chosen"] = score_output(docs, output, chosen["threshold"], chosen["entity_floor"])
        if chosen and args.save_threshold:
            save_setting(model, "threshold", chosen["threshold"])
            if ner_model:
                save_setting(ner_model, "min_score", chosen["entity_floor"])
        if args.curve_png:
            plot_curve(result["sweep"], args.curve_png, f"{result['model']} · ner {args.ner} · {len(docs)} documents")
    print(render(result))
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def render(result: dict[str, Any]) -> str:
    """A table of the scores (and the chosen threshold's, after a sweep), one row per language."""
    lines = []
    for title, key in (("at the run's threshold", "scores"), ("at the chosen threshold", "scores_at_chosen")):
        if key not in result:
            continue
        lines.append(f"{title}: triple exact P/R/F1 | relaxed F1 | entities typed F1 | span F1")
        for lang, m in result[key].items():
            e = m["triples_exact"]
            lines.append(f"  {lang:>4}  {100 * e['precision']:5.1f} {100 * e['recall']:5.1f} {100 * e['f1']:5.1f}"
                         f" | {100 * m['triples_relaxed']['f1']:5.1f} | {100 * m['entities_typed']['f1']:5.1f}"
                         f" | {100 * m['entities_span']['f1']:5.1f}")
        wrong = result[key]["all"]["wrong_triples"]
        if total := sum(wrong.values()):
            lines.append("  wrong triples: " + ", ".join(f"{k.replace('_', ' ')} {100 * n / total:.0f}%" for k, n in wrong.items()))
    if "sweep" in result:
        chosen = result["sweep"]["chosen"]
        floor = result["sweep"]["min_precision"]
        rule = (f"best F1 with precision ≥ {floor}" if result["sweep"]["precision_floor_met"]
                else f"no threshold reaches precision {floor}: best F1")
        lines.append(f"chosen threshold: {chosen['threshold'] if chosen else None} ({rule})")
    return "\n".join(lines)
