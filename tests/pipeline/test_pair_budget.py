"""The relation stage at scale: batches stay within their bound on a corpus of over 20,000 pairs,
and a sentence tagged with hundreds of mentions is a dead letter, not a runaway."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter

from polyrel.pipeline.options import RunOptions
from polyrel.pipeline.run import build, counters
from polyrel.pipeline.summary import read_table
from polyrel.transforms.deadletters import NAMESPACE
from polyrel.transforms.relations import load_config

NAMES = ("anna", "maria", "john", "peter", "sony", "acme", "siemens", "berlin", "paris", "tokyo")
TYPES = ("person", "person", "person", "person", "organisation", "organisation", "organisation", "location",
         "location", "location")


def document(doc_id: str, words: list[str], types: list[str]) -> str:
    text, entities = "", []
    for word, etype in zip(words, types):
        entities.append({"start": len(text), "end": len(text) + len(word), "type": etype})
        text += word + " and "
    return json.dumps({"id": doc_id, "lang": "en", "text": text.removesuffix(" and ") + " .", "entities": entities})


def run(corpus: Path, out: Path, model: Path, batch_size: int) -> tuple[dict[str, int], int, int]:
    """The run's counters, and the largest batch and pair total its inference batches held."""
    options = RunOptions(model=str(model), inputs=(str(corpus),), output=str(out), ner="given", threshold=0.0,
                         batch_size=batch_size, run_id="scale")
    pipeline = beam.Pipeline(options=options.pipeline_options())
    build(pipeline, options, load_config(options.model))
    result = pipeline.run()
    result.wait_until_finish()
    [batches] = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE).with_name("batch_pairs"))["distributions"]
    return counters(result) or {}, batches.committed.max, batches.committed.sum


def test_no_batch_exceeds_its_bound_on_twenty_thousand_pairs(tiny_relation_model_dir: Path, tmp_path: Path) -> None:
    lines = [document(f"d{i}", list(NAMES), list(TYPES)) for i in range(230)]  # 10 entities: 90 pairs each
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    found, largest, total = run(tmp_path / "corpus.jsonl", tmp_path / "out", tiny_relation_model_dir, batch_size=64)
    assert found["pairs"] == total == 230 * 90 >= 20_000  # every pair went through a batch once
    assert largest <= 64
    assert read_table(str(tmp_path / "out"), "triples").num_rows == 230 * 90  # threshold 0: one triple per pair


def test_a_sentence_with_hundreds_of_mentions_is_a_dead_letter(tiny_relation_model_dir: Path, tmp_path: Path) -> None:
    words = [NAMES[i % len(NAMES)] for i in range(708)]
    huge = document("huge", words, [TYPES[i % len(TYPES)] for i in range(708)])  # 500,556 pairs if unbounded
    (tmp_path / "corpus.jsonl").write_text(huge + "\n" + document("small", ["anna", "sony"], ["person", "organisation"])
                                           + "\n", encoding="utf-8")
    found, largest, _ = run(tmp_path / "corpus.jsonl", tmp_path / "out", tiny_relation_model_dir, batch_size=32)
    errors = read_table(str(tmp_path / "out"), "errors").to_pylist()
    [dead] = [e for e in errors if e["doc_id"] == "huge"]
    assert dead["stage"] == "pairs" and "708 entities, over the cap of 50 per sentence (--max-entities)" in dead["reason"]
    assert found["pairs"] == 2 and largest <= 32  # the small document still scored
