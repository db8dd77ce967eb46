"""`polyrel kg load` killed (SIGKILL) while it replaces graphs: every document's graph is then
wholly the old version or wholly the new one, never partial or missing, and the next load completes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from polyrel.kg import vocabulary as v
from polyrel.kg.mapping import document_quads
from polyrel.kg.store import BATCH_QUADS, GraphStore
from tests.kg.helpers import EN, row, write

POLYREL = Path(sys.executable).parent / "polyrel"
DOCUMENTS = 1500  # about 120,000 quads: three update transactions of BATCH_QUADS


def version(run_id: str, score: float) -> list[dict]:
    return [r for i in range(DOCUMENTS) for r in (
        row(f"doc-{i:05d}", EN, ("Helena Marsh", "person"), ("Northwind Energy", "organisation"), "role", score, run_id=run_id),
        row(f"doc-{i:05d}", EN, ("Northwind Energy", "organisation"), ("Bristol", "location"), "physical", score,
            run_id=run_id),
    )]


def load(store: Path, source: Path) -> subprocess.Popen:
    return subprocess.Popen([str(POLYREL), "kg", "load", "--store", str(store), str(source)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def graph_sizes(store: GraphStore) -> dict[str, int]:
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    return {s["g"].value: int(s["n"].value) for s in store.query(query)}


def versions_held(path: Path, expected: dict[str, dict[str, int]]) -> set[str]:
    """The run ids the store's documents hold; fails on any graph that is partial or missing."""
    store = GraphStore(str(path))
    sizes, documents = graph_sizes(store), store.documents()
    assert set(documents) == set(expected["run-1"])
    for doc_id, (run_id, _) in documents.items():
        assert sizes[v.document_iri(doc_id)] == expected[run_id][doc_id], (doc_id, run_id)
    del store
    return {run_id for run_id, _ in documents.values()}


@pytest.mark.slow
def test_a_killed_load_leaves_each_document_old_or_new(tmp_path: Path) -> None:
    old, new = version("run-1", 0.5), version("run-2", 0.7)
    expected = {run: {d: len(document_quads(d, [r for r in rows if r["doc_id"] == d], run))
                      for d in sorted({r["doc_id"] for r in rows})} for run, rows in (("run-1", old), ("run-2", new))}
    assert sum(expected["run-2"].values()) > 2 * BATCH_QUADS  # the load spans several transactions
    old_path, new_path, store = write(tmp_path / "v1.parquet", old), write(tmp_path / "v2.parquet", new), tmp_path / "store"
    assert load(store, old_path).wait() == 0
    started = time.perf_counter()
    assert load(store, new_path).wait() == 0  # a load that replaces every graph, timed: what the kills cut into
    duration = time.perf_counter() - started
    mixed = False
    # kill points inside the load, until one lands between transactions; each attempt starts from the old
    # version (a load the kill missed would leave the new one, and new over new can never look mixed)
    for fraction in (0.5, 0.35, 0.65, 0.8, 0.2, 0.9, 0.45, 0.55):
        assert load(store, old_path).wait() == 0
        process = load(store, new_path)
        time.sleep(fraction * duration)
        process.kill()
        process.wait()
        held = versions_held(store, expected)
        mixed = held == {"run-1", "run-2"}
        if mixed:
            break
    assert mixed, "no kill landed inside the load: every attempt found the store wholly old or wholly new"
    assert load(store, new_path).wait() == 0
    assert versions_held(store, expected) == {"run-2"}
