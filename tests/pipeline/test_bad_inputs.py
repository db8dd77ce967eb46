"""The bad-input corpus through the real Beam job: no crash, every record accounted for, unique ids,
and a dead letter naming the problem for every bad record."""

import contextlib
import io

import pytest

from polyrel.cli import main
from polyrel.pipeline.summary import read_table
from tests.pipeline import bad_inputs


def run(corpus, out, *extra):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["run", str(corpus), "--out", str(out), "--max-doc-chars", "2000", "--run-id", "bad", *extra])
    return code, printed.getvalue()


def check(out, printed):
    accounting = next(line for line in printed.splitlines() if line.startswith("accounting:"))
    assert "every record accounted for" in accounting, accounting
    files = read_table(str(out), "files").to_pylist()
    assert all(f["records"] == f["documents"] + f["dead_letters"] for f in files)
    archives = [f for f in files if f["compressed"]]
    assert archives and all(f"{f['file']} (gzip): records {f['records']}" in printed for f in archives)
    triples, entities = read_table(str(out), "triples"), read_table(str(out), "entities")
    assert len(set(triples.column("triple_id").to_pylist())) == triples.num_rows
    assert len(set(entities.column("entity_id").to_pylist())) == entities.num_rows
    return read_table(str(out), "errors").to_pylist(), entities.to_pylist()


def assert_dead_letters(errors, expected, stages):
    """Each expected bad record of `stages` has a dead letter whose reason names its problem."""
    for stage in stages:
        for where, reason in expected[stage]:
            matches = [e for e in errors if e["stage"] == stage and (
                (e["source"] or "").endswith(where) if stage == "read" else e["doc_id"] == where)]
            assert any(reason in e["reason"] for e in matches), (stage, where, reason, [e["reason"] for e in matches])


def test_the_corpus_holds_at_least_thirty_classes():
    assert bad_inputs.classes() >= 30


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-corpus")
    return root, bad_inputs.write_corpus(root)


def test_given_entities(corpus, tiny_relation_model_dir, tmp_path):
    root, expected = corpus
    code, printed = run(root, tmp_path, "--ner", "given", "--model", str(tiny_relation_model_dir), "--threshold", "0")
    assert code == 0
    errors, entities = check(tmp_path, printed)
    assert_dead_letters(errors, expected, ("read", "entities", "sentences"))
    documents = {e["doc_id"] for e in entities}
    assert {"good-after-bad", "two-types", "dup", "t0"} <= documents
    assert "t49" not in documents  # a cut-off archive keeps the lines before the cut
    two_types = [e for e in entities if e["doc_id"] == "two-types" and e["entity_start"] == 0 and e["entity_end"] == 9]
    assert [e["entity_type"] for e in two_types] == ["person"]  # one entity per span: the first type given
    dup = [e for e in entities if e["doc_id"] == "dup"]
    assert {e["entity_text"] for e in dup} == {"Anna Berg", "Acme Corp", "Oslo"}  # the first 'dup', not merged
    assert all(e["doc_id"] is None or e["doc_id"].isprintable() for e in errors)


@pytest.mark.slow
def test_default_ner(corpus, tmp_path):
    root, expected = corpus
    code, printed = run(root, tmp_path)
    assert code == 0
    errors, entities = check(tmp_path, printed)
    assert_dead_letters(errors, expected, ("read", "sentences"))  # the NER finds its own spans: no given ones to reject
    assert {e["doc_id"] for e in entities} >= {"good-after-bad", "good.txt"}
