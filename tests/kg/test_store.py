"""Loading triples into the Oxigraph store: IRIs, provenance, idempotence, replacement, manifest sync."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from polyrel.kg import queries
from polyrel.kg import vocabulary as v
from polyrel.kg.store import GraphStore, read_triples
from polyrel.schemas.manifest import Manifest, table_dir
from polyrel.schemas.tables import ENTITIES_SCHEMA
from tests.kg.helpers import DE, EN, corpus, row, write


def quads(store: GraphStore) -> set[str]:
    buffer = io.BytesIO()
    store.dump(buffer, "nquads")
    return set(buffer.getvalue().decode().splitlines())


def fresh(rows: list[dict], tmp_path: Path, name: str) -> GraphStore:
    store = GraphStore()
    store.load_triples([str(write(tmp_path / name / "part.parquet", rows))])
    return store


def test_vocabulary_iris_are_stable_and_canonical() -> None:
    assert v.entity_iri("Helena  Marsh", "Person") == v.entity_iri("helena marsh", "person")
    assert v.entity_iri("Helena Marsh", "person") != v.entity_iri("Helena Marsh", "organisation")
    assert v.mention_iri("d", 0, 12) != v.mention_iri("d", 0, 13) != v.mention_iri("e", 0, 12)
    assert v.document_iri("d") == v.document_iri("d")
    assert v.relation_iri("general-affiliation") == "urn:polyrel:relation:general-affiliation"
    assert v.relation_iri("a b/c") == "urn:polyrel:relation:a%20b%2Fc"
    assert v.shorten(v.VOCAB + "score") == "pr:score"
    assert v.normalise("ＡＣＭＥ\u00a0 Corp ") == "acme corp"


def test_every_statement_carries_its_provenance(tmp_path: Path) -> None:
    store = fresh(corpus(), tmp_path, "a")
    _, rows = queries.run(store, """
        SELECT DISTINCT ?id ?relation ?score ?model ?run ?docid ?index ?lang ?head ?tail WHERE {
          ?st a pr:RelationStatement ; pr:tripleId ?id ; pr:relation ?relation ; pr:score ?score ;
              pr:model ?model ; pr:run ?run ; pr:document ?d ; pr:sentence ?s ; pr:lang ?lang ;
              rdf:subject ?h ; rdf:object ?t .
          ?d pr:docId ?docid . ?s pr:index ?index ; pr:document ?d .
          ?h rdfs:label ?head . ?t rdfs:label ?tail .
          ?h ?p ?t . FILTER(?p = ?pred) ?st rdf:predicate ?pred .
        } ORDER BY ?id""")
    expected = sorted(corpus(), key=lambda r: r["triple_id"])
    assert [r["id"] for r in rows] == [r["triple_id"] for r in expected]
    for got, want in zip(rows, expected):
        assert (got["relation"], got["model"], got["run"], got["docid"], got["index"], got["lang"],
                got["head"], got["tail"]) == (want["relation"], "tiny", "run-1", want["doc_id"], 0, want["lang"],
                                              want["head_text"], want["tail_text"])
        assert got["score"] == pytest.approx(want["score"], abs=1e-6)
    graphs = {g.value for g in store.store.named_graphs()}
    assert graphs == {v.document_iri(d) for d in ("doc-en", "doc-de", "doc-fr")}


def test_loading_twice_adds_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "t" / "part.parquet", corpus())
    store = GraphStore(str(tmp_path / "store"))
    first = store.load_triples([str(path)])
    assert sorted(first.added) == ["doc-de", "doc-en", "doc-fr"] and first.quads > 0
    snapshot, size = quads(store), len(store)
    second = store.load_triples([str(path)])
    assert not second.changed and sorted(second.unchanged) == ["doc-de", "doc-en", "doc-fr"]
    forced = store.load_triples([str(path)], force=True)
    assert sorted(forced.replaced) == ["doc-de", "doc-en", "doc-fr"]
    assert quads(store) == snapshot and len(store) == size
    del store
    reopened = GraphStore(str(tmp_path / "store"))  # persistent on disk
    assert quads(reopened) == snapshot


def test_a_reprocessed_document_replaces_its_old_statements(tmp_path: Path) -> None:
    store = fresh(corpus(), tmp_path, "run1")
    # doc-en reprocessed by run-2: one relation gone, one rescored, one new; the others untouched.
    doc_en_v2 = [
        row("doc-en", EN, ("Helena Marsh", "person"), ("Northwind Energy", "organisation"), "role", 0.5,
            run_id="run-2"),
        row("doc-en", EN, ("Helena Marsh", "person"), ("Bristol", "location"), "physical", 0.7, run_id="run-2"),
    ]
    report = store.load_triples([str(write(tmp_path / "run2" / "part.parquet", doc_en_v2))])
    assert report.replaced == ["doc-en"] and not report.added
    final = [r for r in corpus() if r["doc_id"] != "doc-en"] + doc_en_v2
    assert quads(store) == quads(fresh(final, tmp_path, "final"))
    _, rows = queries.run(store, queries.strongest_query("physical", 10))
    assert [(r["head"], r["tail"], r["run"]) for r in rows] == [("Helena Marsh", "Bristol", "run-2")]


def test_triples_are_checked_before_loading(tmp_path: Path) -> None:
    entities = tmp_path / "entities.parquet"
    pq.write_table(ENTITIES_SCHEMA.empty_table(), entities)
    with pytest.raises(ValueError, match="'entities' table"):
        read_triples(str(entities))
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"doc_id": ["x"]}), other)
    with pytest.raises(ValueError, match="missing columns"):
        read_triples(str(other))
    with pytest.raises(FileNotFoundError):
        read_triples(str(tmp_path / "nothing"))


def make_run(out: Path, run_id: str, rows: list[dict], documents: dict[str, str]) -> Manifest:
    """One incremental run written by hand: plan, triples for the processed documents, commit."""
    manifest = Manifest.load(str(out))
    plan = manifest.plan(documents)
    processed = [r for r in rows if r["doc_id"] in plan.to_process]
    write(Path(table_dir(str(out), run_id, "triples")) / "part-00000-of-00001.parquet", processed)
    return manifest.commit(plan, run_id)


def test_sync_follows_the_manifest_changes_and_deletions(tmp_path: Path) -> None:
    out = tmp_path / "out"
    make_run(out, "run-1", corpus("run-1"), {"doc-en": "h1", "doc-de": "h1", "doc-fr": "h1", "doc-empty": "h1"})
    store = GraphStore(str(tmp_path / "store"))
    first = store.sync(str(out))
    assert sorted(first.added) == ["doc-de", "doc-empty", "doc-en", "doc-fr"]
    assert store.documents()["doc-empty"][0] == "run-1"  # a document without triples is still tracked
    assert not store.sync(str(out)).changed

    doc_de_v2 = [row("doc-de", DE, ("Helena Marsh", "person"), ("Bristol", "location"), "physical", 0.3,
                     lang="de", run_id="run-2")]
    doc_it = [row("doc-it", "Helena Marsh visita Bristol.", ("Helena Marsh", "person"), ("Bristol", "location"),
                  "physical", 0.8, lang="it", run_id="run-2")]
    make_run(out, "run-2", doc_de_v2 + doc_it, {"doc-en": "h1", "doc-de": "h2", "doc-it": "h1", "doc-empty": "h1"})
    second = store.sync(str(out))
    assert (second.added, second.replaced, second.retracted) == (["doc-it"], ["doc-de"], ["doc-fr"])
    assert sorted(second.unchanged) == ["doc-empty", "doc-en"]
    assert not store.sync(str(out)).changed

    union = [r for r in corpus("run-1") if r["doc_id"] == "doc-en"] + doc_de_v2 + doc_it
    expected = fresh(union, tmp_path, "expected")
    expected.replace_documents({"doc-empty": ("run-1", [])})
    for doc_id, run in (("doc-it", "run-2"), ("doc-de", "run-2")):  # runs as the manifest names them
        assert store.documents()[doc_id][0] == run
    assert quads(store) == quads(expected)

    # A load that died half-way (a document graph lost) is completed by the next sync.
    store.store.remove_graph(__import__("pyoxigraph").NamedNode(v.document_iri("doc-it")))
    healed = store.sync(str(out))
    assert healed.added == ["doc-it"] and quads(store) == quads(expected)


def test_sync_needs_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no manifest"):
        GraphStore().sync(str(tmp_path))


def test_ntriples_dump_is_the_union_once(tmp_path: Path) -> None:
    store = fresh(corpus(), tmp_path, "a")
    buffer = io.BytesIO()
    store.dump(buffer, "ntriples")
    lines = buffer.getvalue().decode().splitlines()
    assert lines == sorted(set(lines)) and all(line.endswith(" .") for line in lines)
    assert len(lines) < len(quads(store))  # shared entity nodes appear once
    helena = v.entity_iri("Helena Marsh", "person")
    assert sum(line.startswith(f"<{helena}> <{v.TYPE}>") for line in lines) == 1
    import pyoxigraph

    assert len(list(pyoxigraph.parse(buffer.getvalue(), format=pyoxigraph.RdfFormat.N_TRIPLES))) == len(lines)
