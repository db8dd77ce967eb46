"""`polyrel kg load | query | dump | stats` on small hand-built triples."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from polyrel.cli import main
from polyrel.kg import queries
from polyrel.kg.export import relationship_type
from tests.kg.helpers import corpus, write


@pytest.fixture
def store(tmp_path: Path, capsys: pytest.CaptureFixture) -> str:
    path = str(tmp_path / "store")
    triples = write(tmp_path / "out" / "triples" / "part-00000-of-00001.parquet", corpus())
    assert main(["kg", "load", str(triples.parent.parent), "--store", path]) == 0
    out = capsys.readouterr().out
    assert "3 documents added" in out and "3 documents, 4 statements, 7 mentions, 5 entities" in out
    assert main(["kg", "load", str(triples), "--store", path]) == 0
    assert "nothing to load: the store is current (3 documents unchanged)" in capsys.readouterr().out
    return path


def test_entity_query_spans_documents_and_languages(store: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["kg", "query", "--store", store, "--entity", "helena marsh", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["relation"], r["tail"], r["lang"], r["doc"]) for r in rows] == [
        ("role", "Northwind Energy", "en", "doc-en"), ("role", "Northwind Energy", "de", "doc-de")]
    assert main(["kg", "query", "--store", store, "--entity", "NORTHWIND  Energy", "--type", "organisation"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["head", "head_type", "relation", "tail", "tail_type", "score",
                                             "lang", "doc", "sentence"]
    assert "(3 rows)" in table and "physical" in table


def test_strongest_orders_by_score_and_limits(store: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["kg", "query", "--store", store, "--strongest", "role", "--limit", "2", "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["head"], r["lang"], float(r["score"])) for r in rows] == [
        ("Helena Marsh", "en", pytest.approx(0.91)), ("Helena Marsh", "de", pytest.approx(0.84))]


def test_sparql_query_with_predeclared_prefixes(store: str, capsys: pytest.CaptureFixture) -> None:
    sparql = ("SELECT ?lang (COUNT(DISTINCT ?st) AS ?n) WHERE { ?st a pr:RelationStatement ; pr:lang ?lang }"
              " GROUP BY ?lang ORDER BY ?lang")
    assert main(["kg", "query", "--store", store, "--sparql", sparql, "--format", "json"]) == 0
    assert [json.loads(x) for x in capsys.readouterr().out.splitlines()] == [
        {"lang": "de", "n": 1}, {"lang": "en", "n": 2}, {"lang": "fr", "n": 1}]
    assert main(["kg", "query", "--store", store, "--sparql", "ASK { ?e rel:role ?o }"]) == 0
    assert capsys.readouterr().out.strip() == "true"
    with pytest.raises(SystemExit, match="polyrel kg query"):
        main(["kg", "query", "--store", store, "--sparql", "SELECT nonsense"])


def test_dump_formats(store: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import pyoxigraph

    nq, nt = tmp_path / "g.nq", tmp_path / "g.nt"
    assert main(["kg", "dump", "--store", store, "--format", "nquads", "-o", str(nq)]) == 0
    assert main(["kg", "dump", "--store", store, "--format", "ntriples", "-o", str(nt)]) == 0
    parsed_nq = list(pyoxigraph.parse(path=str(nq), format=pyoxigraph.RdfFormat.N_QUADS))
    parsed_nt = list(pyoxigraph.parse(path=str(nt), format=pyoxigraph.RdfFormat.N_TRIPLES))
    assert len({q.graph_name for q in parsed_nq}) == 3 and 0 < len(parsed_nt) < len(parsed_nq)
    restored = pyoxigraph.Store()
    restored.load(path=str(nq), format=pyoxigraph.RdfFormat.N_QUADS)
    assert len(restored) == len(parsed_nq)

    assert main(["kg", "dump", "--store", store, "--format", "csv", "-o", str(tmp_path / "csv")]) == 0
    capsys.readouterr()
    nodes = list(csv.DictReader((tmp_path / "csv" / "nodes.csv").open()))
    edges = list(csv.DictReader((tmp_path / "csv" / "edges.csv").open()))
    assert len(nodes) == 5 and len(edges) == 4
    helena = next(n for n in nodes if n["name"] == "Helena Marsh")
    assert (helena["type"], helena["mentions:int"], helena["languages:string[]"], helena[":LABEL"]) == (
        "person", "2", "de;en", "Entity")
    ids = {n["entityId:ID"] for n in nodes}
    assert all(e[":START_ID"] in ids and e[":END_ID"] in ids for e in edges)
    roles = [e for e in edges if e[":TYPE"] == "ROLE"]
    assert len(roles) == 3 and {e["lang"] for e in roles} == {"en", "de", "fr"}
    assert relationship_type("general-affiliation") == "GENERAL_AFFILIATION"


def test_stats_and_missing_store(store: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["kg", "stats", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "3 documents, 4 statements" in out and "role      3" in out
    with pytest.raises(SystemExit, match="no store"):
        main(["kg", "stats", "--store", str(tmp_path / "absent")])


def test_render_table_alignment() -> None:
    text = queries.render(["a", "score"], [{"a": "x", "score": 0.5}, {"a": "longer", "score": None}])
    assert text.splitlines() == ["a       score", "x       0.5000", "longer", "(2 rows)"]
