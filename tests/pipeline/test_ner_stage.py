"""The polyrel NER in the pipeline (RunInference, batched across documents) finds exactly the
entities it finds one document at a time."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from polyrel.cli import main
from polyrel.model.ner.modeling import EntityRecognizer
from polyrel.pipeline import defaults
from polyrel.pipeline.summary import read_table
from polyrel.schemas import tables
from polyrel.schemas.records import AnnotatedDocument, Entity
from polyrel.transforms.entities import annotate
from polyrel.transforms.read import parse_document
from polyrel.transforms.sentences import SplitDocument


def test_batched_ner_equals_one_document_at_a_time(tiny_ner_model_dir: Path, tiny_relation_model_dir: Path,
                                                   tmp_path: Path) -> None:
    corpus = defaults.SAMPLE_DIR / "news.jsonl"
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["run", str(corpus), "--out", str(tmp_path), "--ner", "polyrel", "--ner-model", str(tiny_ner_model_dir),
                     "--model", str(tiny_relation_model_dir), "--precision", "fp32", "--run-id", "ner"])
    assert code == 0
    got = {r["entity_id"] for r in read_table(str(tmp_path), "entities").to_pylist()}
    recognizer = EntityRecognizer.load(tiny_ner_model_dir, device="cpu", precision="fp32")
    expected = set()
    for line in corpus.read_text(encoding="utf-8").splitlines():
        document = parse_document(json.loads(line), "")
        [segmented] = SplitDocument(None).process(document)
        spans = [(e.start, e.end, e.type) for e in recognizer([document.text])[0]]
        *_, annotated = annotate(segmented, [Entity(*s) for s in spans], "polyrel")
        assert isinstance(annotated, AnnotatedDocument)
        expected |= {tables.entity_id(document.id, m) for s in annotated.sentences for m in s.entities}
    assert expected and got == expected


def test_the_confidence_floor_drops_entities_below_it(tiny_ner_model_dir: Path, tiny_relation_model_dir: Path,
                                                      tmp_path: Path) -> None:
    corpus = defaults.SAMPLE_DIR / "news.jsonl"
    scores = {}
    for floor in ("0", "0.5"):
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["run", str(corpus), "--out", str(tmp_path / floor), "--ner-model", str(tiny_ner_model_dir),
                         "--model", str(tiny_relation_model_dir), "--precision", "fp32", "--min-entity-score", floor]) == 0
        scores[floor] = [r["score"] for r in read_table(str(tmp_path / floor), "entities").to_pylist()]
    assert all(s is not None for s in scores["0"])  # the NER's confidence is written with each entity
    assert sorted(s for s in scores["0"] if s >= 0.5) == sorted(scores["0.5"]) and len(scores["0.5"]) < len(scores["0"])
