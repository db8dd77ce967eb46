"""deploy/schedule/polyrel-update.sh end to end: a growing corpus, the tiny model, the graph store.

Run twice on a corpus that grows (and once more unchanged), the graph must hold exactly the
union of the triples a single run over the final corpus gives: nothing twice, nothing lost.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from polyrel.kg import queries
from polyrel.kg.store import GraphStore
from polyrel.schemas.manifest import Manifest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "schedule" / "polyrel-update.sh"
POLYREL = Path(sys.executable).parent / "polyrel"


def doc(doc_id: str, text: str, *spans: tuple[str, str], lang: str = "en") -> str:
    entities = [{"start": text.index(s), "end": text.index(s) + len(s), "type": t} for s, t in spans]
    return json.dumps({"id": doc_id, "lang": lang, "text": text, "entities": entities}) + "\n"


FIRST = (
    doc("d1", "Anna works for Siemens in Berlin .", ("Anna", "person"), ("Siemens", "organisation"),
        ("Berlin", "location")),
    doc("d2", "Peter visited Sony in Tokyo . Maria lives in Paris .", ("Peter", "person"),
        ("Sony", "organisation"), ("Tokyo", "location"), ("Maria", "person"), ("Paris", "location")),
)
SECOND = (
    doc("d3", "Anna met John at Acme Corp in Madrid .", ("Anna", "person"), ("John", "person"),
        ("Acme Corp", "organisation"), ("Madrid", "location"), lang="es"),
)


def update(env: dict[str, str]) -> str:
    result = subprocess.run(["bash", str(SCRIPT), "--ner", "given", "--threshold", "0"], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def store_statements(path: Path) -> list[tuple[str, str, float]]:
    store = GraphStore(str(path))
    _, rows = queries.run(store, "SELECT ?id ?run ?score WHERE { ?st a pr:RelationStatement ; pr:tripleId ?id ;"
                                 " pr:run ?run ; pr:score ?score }")
    del store
    return sorted((r["id"], r["run"], round(r["score"], 5)) for r in rows)


@pytest.mark.timeout(600)
def test_scheduled_updates_on_a_growing_corpus(tiny_relation_model_dir: Path, tmp_path: Path) -> None:
    corpus, out, kg = tmp_path / "corpus", tmp_path / "out", tmp_path / "kg"
    corpus.mkdir()
    (corpus / "first.jsonl").write_text("".join(FIRST))
    env = {**os.environ, "POLYREL_INPUT": str(corpus), "POLYREL_OUT": str(out), "POLYREL_KG_STORE": str(kg),
           "POLYREL_MODEL": str(tiny_relation_model_dir), "POLYREL_BIN": str(POLYREL)}

    first = update(env)
    assert "plan: 2 new, 0 changed, 0 unchanged, 0 deleted" in first
    assert "2 documents added" in first
    (corpus / "second.jsonl").write_text("".join(SECOND))
    second = update(env)
    assert "plan: 1 new, 0 changed, 2 unchanged, 0 deleted" in second
    assert "1 documents added, 0 replaced, 2 unchanged" in second

    manifest = Manifest.load(str(out))
    runs = [r["run_id"] for r in manifest.runs]
    assert len(runs) == 2 and manifest.documents_by_run() == {runs[0]: ["d1", "d2"], runs[1]: ["d3"]}
    statements = store_statements(kg)
    third = update(env)  # nothing changed: nothing written, nothing loaded
    assert "nothing to do" in third and "nothing to load: the store is current" in third
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(runs)
    assert store_statements(kg) == statements

    # The reference: one plain run over the final corpus.
    from polyrel.pipeline.options import RunOptions
    from polyrel.pipeline.run import run

    reference = tmp_path / "reference"
    run(RunOptions(model=str(tiny_relation_model_dir), inputs=(str(corpus),), output=str(reference), ner="given",
                   threshold=0.0))
    expected = pq.read_table(reference / "triples").to_pylist()
    assert len(expected) > 3
    ids = [s[0] for s in statements]
    assert len(ids) == len(set(ids)), "a triple appears twice in the graph"
    assert sorted(ids) == sorted(r["triple_id"] for r in expected)
    by_id = {r["triple_id"]: r for r in expected}
    for triple_id, run_id, score in statements:
        assert score == pytest.approx(by_id[triple_id]["score"], abs=1e-5)
        assert run_id == (runs[1] if by_id[triple_id]["doc_id"] == "d3" else runs[0])


def test_a_held_lock_skips_the_update(tmp_path: Path) -> None:
    lock = tmp_path / "kg.lock"
    env = {**os.environ, "POLYREL_OUT": str(tmp_path / "out"), "POLYREL_KG_STORE": str(tmp_path / "kg"),
           "POLYREL_INPUT": str(tmp_path), "POLYREL_LOCK": str(lock), "POLYREL_BIN": "/bin/false"}
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "skipping" in result.stderr
    failed = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode != 0  # without the lock it runs, and a failing step fails the update


def test_the_load_runs_even_when_the_pipeline_fails(tmp_path: Path) -> None:
    fake = tmp_path / "polyrel"
    fake.write_text('#!/usr/bin/env bash\necho "$@" >>"$LOG"\n[[ $1 == kg ]]\n')
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    env = {**os.environ, "POLYREL_OUT": str(tmp_path / "out"), "POLYREL_KG_STORE": str(tmp_path / "kg"),
           "POLYREL_INPUT": "a b", "POLYREL_BIN": str(fake), "LOG": str(log), "POLYREL_MODEL": "m"}
    result = subprocess.run(["bash", str(SCRIPT), "--ner", "given"], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 1 and "FAILED (run exit 1, load exit 0)" in result.stderr
    assert log.read_text().splitlines() == [
        f"run a b --out {tmp_path / 'out'} --incremental --model m --ner given",
        f"kg load {tmp_path / 'out'} --store {tmp_path / 'kg'}"]


def test_dataflow_launcher_splits_polyrel_and_beam_parameters(tiny_relation_model_dir: Path) -> None:
    import importlib.util

    path = SCRIPT.parent / "dataflow" / "launch.py"
    spec = importlib.util.spec_from_file_location("polyrel_flex_launch", path)
    launch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch)
    options, full = launch.options_from([
        "--inputs=gs://c/a/,gs://c/b.jsonl", "--out=gs://o/out", f"--model={tiny_relation_model_dir}",
        "--threshold=0.5", "--project=p", "--region=europe-west1", "--temp_location=gs://t/tmp", "--full=true"])
    assert options.inputs == ("gs://c/a/", "gs://c/b.jsonl") and options.output == "gs://o/out"
    assert options.threshold == 0.5 and options.runner == "DataflowRunner" and full is True
    assert options.beam_args == ("--project=p", "--region=europe-west1", "--temp_location=gs://t/tmp")
    assert launch.options_from(["--inputs=x", "--out=y", f"--model={tiny_relation_model_dir}"])[1] is False
