"""The incremental-run manifest: planning, atomic commits, crashes, conflicts, deletions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from polyrel.schemas import manifest as m
from polyrel.schemas.manifest import Manifest, ManifestConflict, RunPlan, commit_run, document_hash
from polyrel.schemas.records import Document, Entity


def docs(**texts: str) -> dict[str, str]:
    return {doc_id: document_hash(Document(doc_id, text, "en")) for doc_id, text in texts.items()}


def run_once(out: str, documents: dict[str, str], run_id: str, **kwargs) -> tuple[RunPlan, Manifest]:
    manifest = Manifest.load(out)
    plan = manifest.plan(documents, **kwargs)
    return plan, manifest.commit(plan, run_id)


def test_document_hash_covers_text_language_and_entities_not_meta() -> None:
    base = Document("d", "Anna works at Acme.", "en", {"source": "a"}, (Entity(0, 4, "person"),))
    same = Document("d", "Anna works at Acme.", "en", {"source": "b"}, (Entity(0, 4, "person"),))
    assert document_hash(base) == document_hash(same)
    for other in (Document("d", "Anna works at Acme!", "en", {}, base.entities),
                  Document("d", "Anna works at Acme.", "de", {}, base.entities),
                  Document("d", "Anna works at Acme.", "en", {}, (Entity(0, 4, "organisation"),)),
                  Document("d", "Anna works at Acme.", "en", {}, None)):
        assert document_hash(other) != document_hash(base)


def test_plan_sorts_new_changed_unchanged_deleted(tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    first, manifest = run_once(out, docs(a="one", b="two", c="three"), "run-1")
    assert (first.new, first.changed, first.unchanged, first.deleted) == (("a", "b", "c"), (), (), ())
    assert manifest.generation == 1 and manifest.run_of("a") == "run-1"

    plan = Manifest.load(out).plan(docs(a="one", b="TWO", d="four"))
    assert plan.new == ("d",) and plan.changed == ("b",) and plan.unchanged == ("a",) and plan.deleted == ("c",)
    assert plan.to_process == ("b", "d") and not plan.is_empty
    assert plan.summary() == "1 new, 1 changed, 1 unchanged, 1 deleted"
    after = Manifest.load(out).commit(plan, "run-2")

    reloaded = Manifest.load(out)
    assert reloaded == after
    assert {d: e.run_id for d, e in reloaded.entries.items()} == {"a": "run-1", "b": "run-2", "d": "run-2"}
    assert set(reloaded.deleted) == {"c"} and reloaded.deleted["c"].run_id == "run-2"
    assert reloaded.documents_by_run() == {"run-1": ["a"], "run-2": ["b", "d"]}
    assert [r["run_id"] for r in reloaded.runs] == ["run-1", "run-2"]
    assert reloaded.runs[-1]["deleted"] == 1 and reloaded.runs[-1]["processed"] == 2


def test_unchanged_input_plans_nothing(tmp_path: Path) -> None:
    out = str(tmp_path)
    run_once(out, docs(a="one", b="two"), "run-1")
    plan = Manifest.load(out).plan(docs(a="one", b="two"))
    assert plan.is_empty and plan.to_process == () and plan.unchanged == ("a", "b")


def test_full_reprocesses_everything_and_a_deleted_document_can_return(tmp_path: Path) -> None:
    out = str(tmp_path)
    run_once(out, docs(a="one", b="two"), "run-1")
    _, manifest = run_once(out, docs(a="one"), "run-2")
    assert set(manifest.deleted) == {"b"}
    plan, manifest = run_once(out, docs(a="one", b="two"), "run-3", full=True)
    assert plan.new == ("b",) and plan.unchanged == ("a",) and plan.to_process == ("a", "b")
    assert manifest.deleted == {} and manifest.documents_by_run() == {"run-3": ["a", "b"]}


def test_changed_settings_make_every_document_changed(tmp_path: Path) -> None:
    out = str(tmp_path)
    run_once(out, docs(a="one", b="two"), "run-1", settings={"model": "m1", "threshold": None})
    same = Manifest.load(out).plan(docs(a="one", b="two"), settings={"threshold": None, "model": "m1"})
    assert same.is_empty
    other = Manifest.load(out).plan(docs(a="one", b="two"), settings={"model": "m2", "threshold": None})
    assert other.settings_changed and other.changed == ("a", "b")


def test_duplicate_ids_get_one_combined_hash() -> None:
    plan = Manifest("unused").plan([("a", "h1"), ("b", "h2"), ("a", "h3")])
    assert plan.new == ("a", "b")
    assert plan.hashes["a"] == m.combine_hashes(["h3", "h1"]) != m.combine_hashes(["h1"])


def test_crash_between_pipeline_and_commit_leaves_previous_manifest(tmp_path: Path) -> None:
    out = str(tmp_path)
    _, before = run_once(out, docs(a="one"), "run-1")
    data = Path(before.path).read_bytes()

    manifest = Manifest.load(out)
    plan = manifest.plan(docs(a="ONE", b="two"))
    plan.save(out, "run-2")
    (Path(m.table_dir(out, "run-2", "triples")) / "part-00000-of-00001.parquet").parent.mkdir(parents=True)
    # … the pipeline dies here, before its commit step …
    assert Path(before.path).read_bytes() == data
    assert Manifest.load(out) == before
    assert Manifest.load(out).unreferenced_runs() == ["run-2"]
    retry = Manifest.load(out).plan(docs(a="ONE", b="two"))
    assert retry.to_process == ("a", "b")


def test_crash_during_the_manifest_write_leaves_previous_manifest(tmp_path: Path, monkeypatch) -> None:
    out = str(tmp_path)
    _, before = run_once(out, docs(a="one"), "run-1")
    manifest = Manifest.load(out)
    plan = manifest.plan(docs(a="one", b="two"))

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(m.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        manifest.commit(plan, "run-2")
    monkeypatch.undo()
    assert Manifest.load(out) == before
    assert sorted(os.listdir(out)) == [m.MANIFEST_NAME]  # no temporary file left behind
    assert Manifest.load(out).commit(plan, "run-2").generation == 2


def test_concurrent_commit_is_refused_and_a_retried_commit_is_a_no_op(tmp_path: Path) -> None:
    out = str(tmp_path)
    run_once(out, docs(a="one"), "run-1")
    first = Manifest.load(out)
    second = Manifest.load(out)
    plan_1 = first.plan(docs(a="one", b="two"))
    plan_2 = second.plan(docs(a="one", c="three"))
    committed = first.commit(plan_1, "run-2")
    assert first.commit(plan_1, "run-2") == Manifest.load(out) == committed  # retried step
    with pytest.raises(ManifestConflict):
        second.commit(plan_2, "run-3")
    with pytest.raises(ManifestConflict):
        Manifest.load(out).commit(plan_2, "run-3")  # the plan, not just the object, is stale
    assert set(Manifest.load(out).entries) == {"a", "b"}


def test_saved_plan_round_trips_and_commit_run_uses_it(tmp_path: Path) -> None:
    out = str(tmp_path)
    run_once(out, docs(a="one", b="two"), "run-1", settings={"model": "x"})
    plan = Manifest.load(out).plan(docs(a="one", c="three"), settings={"model": "x"})
    plan.save(out, "run-2")
    loaded = RunPlan.load(out, "run-2")
    assert loaded == plan and loaded.hashes == plan.hashes
    manifest = commit_run(out, "run-2")
    assert manifest.documents_by_run() == {"run-1": ["a"], "run-2": ["c"]} and set(manifest.deleted) == {"b"}
    assert commit_run(out, "run-2") == manifest


def test_object_store_urls_work(tmp_path: Path) -> None:
    out = "memory://polyrel-manifest-test/out"
    run_once(out, docs(a="one"), "run-1")
    assert Manifest.load(out).plan(docs(a="one", b="two")).new == ("b",)


def test_manifest_is_plain_parquet_with_a_json_header(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = str(tmp_path)
    run_once(out, docs(a="one", b="two"), "run-1")
    run_once(out, docs(a="one"), "run-2")
    table = pq.read_table(m.manifest_path(out))
    assert table.column_names == ["doc_id", "content_hash", "run_id", "status"]
    assert table.to_pydict()["status"] == ["current", "deleted"]
    header = json.loads(table.schema.metadata[b"polyrel.manifest"])
    assert header["generation"] == 2 and header["version"] == m.MANIFEST_VERSION


def test_scan_documents_reads_what_the_pipeline_reads(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(
        json.dumps({"id": "x", "text": "Anna works at Acme.", "lang": "en"}) + "\n"
        + "not json\n"
        + json.dumps({"id": "y", "text": "   "}) + "\n")
    (corpus / "b.txt").write_text("Peter lives in Paris.")
    scanned = dict(m.scan_documents([str(corpus)], max_doc_chars=1000))
    assert set(scanned) == {"x", "b.txt"}  # a .txt is known by its path relative to the input root
    assert scanned["x"] == document_hash(Document("x", "Anna works at Acme.", "en"))
