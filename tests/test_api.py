"""The Python API gives what `polyrel run` writes: same triples, ids and scores."""

import contextlib
import io
import json

import pyarrow as pa
import pytest

import polyrel
from polyrel.cli import main

RECORDS = [
    {"id": "a", "lang": "en", "text": "Anna Berg works for Acme Corp in Oslo. She visited Japan.",
     "entities": [{"start": 0, "end": 9, "type": "person"}, {"start": 20, "end": 29, "type": "organisation"},
                  {"start": 33, "end": 37, "type": "location"}, {"start": 51, "end": 56, "type": "country"}]},
    {"id": "b", "lang": "de", "text": "Maria Schmidt lebt in Berlin.",
     "entities": [{"start": 0, "end": 13, "type": "person"}, {"start": 22, "end": 28, "type": "location"}]},
]


def test_extractor_matches_polyrel_run(tiny_relation_model_dir, tmp_path):
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    with contextlib.redirect_stdout(io.StringIO()):
        main(["run", str(source), "--model", str(tiny_relation_model_dir), "--out", str(tmp_path / "out"),
              "--ner", "given", "--threshold", "0"])
    written = polyrel.read_triples(str(tmp_path / "out")).to_pylist()
    extractor = polyrel.Extractor(model=str(tiny_relation_model_dir), ner="given", threshold=0)
    results = extractor(RECORDS)
    table = extractor.triples_table(results).to_pylist()
    assert {r["triple_id"]: r["score"] for r in table} == pytest.approx({r["triple_id"]: r["score"] for r in written})
    first = results[0]
    assert first.document.id == "a" and [len(s.entities) for s in first.sentences] == [3, 1]
    assert {(t.pair.head.text, t.pair.tail.text) for t in first.triples} >= {("Anna Berg", "Acme Corp")}
    assert polyrel.read_entities(str(tmp_path / "out")).num_rows == 6


def test_strings_tables_and_bad_records(tiny_relation_model_dir):
    extractor = polyrel.Extractor(model=str(tiny_relation_model_dir), ner="given", threshold=0)
    (text,) = extractor("Anna Berg works for Acme Corp.")
    assert text.document.id == "0" and text.triples == ()  # no entities given: nothing to pair
    (bad,) = extractor({"id": 7, "text": "x"})
    assert bad.document is None and "'id' must be a non-empty string" in bad.errors[0].reason
    frame = pa.table({"id": ["a", "b"], "text": [RECORDS[0]["text"], RECORDS[1]["text"]]})
    assert extractor.extract_table(frame).schema.names[:3] == ["triple_id", "doc_id", "sentence_index"]
