"""End-to-end runs of `polyrel run` on the bundled sample plus one file of bad inputs."""

import contextlib
import io
import json
from pathlib import Path

import dask.distributed
import pyarrow.parquet as pq
import pytest

from polyrel.cli import main
from polyrel.model.relation.predictor import RelationPredictor
from polyrel.pipeline import defaults
from polyrel.pipeline.options import RunOptions
from polyrel.pipeline.summary import read_table
from polyrel.schemas import tables
from polyrel.schemas.records import SentencePairs
from polyrel.transforms.entities import annotate
from polyrel.transforms.pairs import document_pairs
from polyrel.transforms.read import parse_document
from polyrel.transforms.relations import to_query
from polyrel.transforms.sentences import SplitDocument

LONG_GAP = "Anna Berg " + "and the " * 40 + "Acme Corp ."
BAD_LINES = [
    b"{this is not json",
    '{"id": "latin1", "text": "Caf\xe9 Oslo."}'.encode("latin-1"),
    json.dumps({"id": "empty", "text": ""}).encode(),
    json.dumps({"id": "too-long", "text": "Oslo. " * 400}).encode(),
    json.dumps({"id": "klingon", "lang": "tlh", "text": "Qapla' batlh."}).encode(),
    json.dumps({"id": "bad-span", "lang": "en", "text": "Anna Berg works for Acme Corp.", "entities": [
        {"start": 0, "end": 9, "type": "PER"}, {"start": 20, "end": 29, "type": "ORG"},
        {"start": 25, "end": 90, "type": "ORG"}]}).encode(),
    json.dumps({"id": "far-apart", "lang": "en", "text": LONG_GAP, "entities": [
        {"start": 0, "end": 9, "type": "person"}, {"start": len(LONG_GAP) - 11, "end": len(LONG_GAP) - 2,
                                                   "type": "organisation"}]}).encode(),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    bad = tmp_path_factory.mktemp("bad") / "bad.jsonl"
    bad.write_bytes(b"\n".join(BAD_LINES) + b"\n")
    return [str(defaults.SAMPLE_DIR), str(bad)]


def polyrel_run(inputs, model, out, *extra):
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        main(["run", *inputs, "--model", str(model), "--out", str(out), "--ner", "given", "--threshold", "0",
              "--max-doc-chars", "2000", "--batch-size", "4", *extra])
    return stdout.getvalue()


@pytest.fixture(scope="module")
def plain(inputs, tiny_relation_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    printed = polyrel_run(inputs, tiny_relation_model_dir, out, "--run-id", "run-a")
    return out, printed


def rows(out, name):
    return sorted(read_table(str(out), name).to_pylist(), key=lambda r: json.dumps(r, sort_keys=True, default=str))


def without(rows_, *columns):
    return [{k: v for k, v in r.items() if k not in columns} for r in rows_]


def test_tables_have_the_declared_schemas(plain):
    out, _ = plain
    for name, schema in (("triples", tables.TRIPLES_SCHEMA), ("entities", tables.ENTITIES_SCHEMA),
                         ("errors", tables.ERRORS_SCHEMA)):
        assert pq.read_table(out / name).schema.equals(schema, check_metadata=True)
        assert [p.name for p in (out / name).iterdir()] == ["part-00000-of-00001.parquet"]


def test_hand_checked_triples_of_one_document(plain):
    out, printed = plain
    triples = [r for r in rows(out, "triples") if r["doc_id"] == "news-en-001"]
    got = sorted((r["sentence_index"], r["head_text"], r["head_start"], r["head_end"], r["tail_text"], r["tail_type"])
                 for r in triples)
    assert got == [
        (0, "Helena Marsh", 0, 12, "Northwind Energy", "organisation"),
        (0, "Northwind Energy", 46, 62, "Helena Marsh", "person"),
        (1, "Bristol", 96, 103, "Norway", "country"),
        (1, "Norway", 140, 146, "Bristol", "location"),
    ]
    assert {r["sentence_text"] for r in triples if r["sentence_index"] == 0} == {
        "Helena Marsh was appointed chief executive of Northwind Energy on Monday."}
    assert all(r["lang"] == "en" and r["run_id"] == "run-a" and r["model_id"] for r in triples)
    assert "triples: " in printed and "by language:" in printed and "errors: " in printed


def test_every_sample_pair_scored_as_the_predictor_scores_it(plain, tiny_relation_model_dir):
    """Rebuild the candidates with the stage functions and score them with the predictor directly."""
    out, _ = plain
    predictor = RelationPredictor.load(tiny_relation_model_dir, device="cpu")
    rules = RunOptions(model=str(tiny_relation_model_dir)).pair_filter(predictor.config)  # the run's defaults
    expected = {}
    for line in (defaults.SAMPLE_DIR / "news.jsonl").read_text(encoding="utf-8").splitlines():
        document = parse_document(json.loads(line), "")
        [segmented] = SplitDocument(None).process(document)
        *_, annotated = annotate(segmented, document.entities, "given")
        pairs = [p for item in document_pairs(annotated, rules) if isinstance(item, SentencePairs) for p in item.candidates()]
        probs = predictor.probabilities([predictor.encode(to_query(p)) for p in pairs])
        for pair, row in zip(pairs, probs):
            best = 1 + int(row[1:].argmax())
            label = predictor.config.output_labels[best]
            expected[tables.triple_id(document.id, pair.head, pair.tail, label)] = (pair.head.text, pair.tail.text, row[best])
    got = {r["triple_id"]: r for r in rows(out, "triples") if r["doc_id"].startswith("news-")}
    assert set(got) == set(expected) and len(got) == 54
    for triple_id, (head, tail, score) in expected.items():
        assert (got[triple_id]["head_text"], got[triple_id]["tail_text"]) == (head, tail)
        assert got[triple_id]["score"] == pytest.approx(score, abs=1e-4)


def test_every_bad_input_is_a_dead_letter_and_good_documents_still_count(plain):
    out, _ = plain
    errors = rows(out, "errors")
    reasons = {(e["stage"], e["doc_id"]): e["reason"] for e in errors}
    by_reason = [e["reason"] for e in errors]
    assert any(r.startswith("unparseable JSON") for r in by_reason)
    assert any(r.startswith("not UTF-8") for r in by_reason)
    assert reasons[("read", "empty")] == "empty text"
    assert "over --max-doc-chars 2000" in reasons[("read", "too-long")]
    assert "unsupported language 'tlh'" in reasons[("sentences", "klingon")]
    assert reasons[("entities", "bad-span")] == "entity span [25, 90) lies outside the text (30 characters)"
    assert "max_length" in reasons[("relations", "far-apart")]  # both directions: 2 dead letters
    assert len(errors) == 8 and all(e["run_id"] == "run-a" for e in errors)
    bad_span = {(r["head_text"], r["tail_text"]) for r in rows(out, "triples") if r["doc_id"] == "bad-span"}
    assert bad_span == {("Anna Berg", "Acme Corp"), ("Acme Corp", "Anna Berg")}
    entities = rows(out, "entities")
    assert {e["doc_id"] for e in entities} >= {"bad-span", "far-apart", "news-ja-001"}
    assert all(e["entity_text"] for e in entities)


def test_rerun_gives_identical_triple_ids(plain, inputs, tiny_relation_model_dir, tmp_path):
    out, _ = plain
    polyrel_run(inputs, tiny_relation_model_dir, tmp_path, "--run-id", "run-b")
    assert [r["triple_id"] for r in rows(tmp_path, "triples")] == [r["triple_id"] for r in rows(out, "triples")]
    assert without(rows(tmp_path, "entities"), "run_id") == without(rows(out, "entities"), "run_id")


def assert_same_output(a, b):
    for name in ("entities", "errors"):
        assert rows(a, name) == rows(b, name)
    ta, tb = rows(a, "triples"), rows(b, "triples")
    assert without(ta, "score") == without(tb, "score")
    assert [r["score"] for r in ta] == pytest.approx([r["score"] for r in tb], abs=1e-5)


def test_multi_processing_direct_runner_gives_the_same_output(plain, inputs, tiny_relation_model_dir, tmp_path):
    polyrel_run(inputs, tiny_relation_model_dir, tmp_path, "--run-id", "run-a", "--beam-args",
                "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert_same_output(plain[0], tmp_path)


def test_portable_runner_gives_the_same_output(plain, inputs, tiny_relation_model_dir, tmp_path):
    # Beam's job API, the path Flink and Spark take, with an embedded job server and loopback workers
    printed = polyrel_run(inputs, tiny_relation_model_dir, tmp_path, "--run-id", "run-a", "--runner", "PortableRunner",
                          "--beam-args", "--job_endpoint=embed", "--environment_type=LOOPBACK")
    def counters(text):
        return next(line for line in text.splitlines() if line.startswith("counters:"))

    assert counters(printed) == counters(plain[1])  # counters come back through the job API
    assert_same_output(plain[0], tmp_path)


def test_dask_runner_gives_the_same_output(plain, inputs, tiny_relation_model_dir, tmp_path):
    # worker processes: Beam's DaskRunner shares one ParDo output buffer between tasks, so a
    # threaded (processes=False) cluster re-emits elements; the sink's row dedup hides that
    with dask.distributed.LocalCluster(processes=True, n_workers=1, threads_per_worker=1,
                                       dashboard_address=None) as cluster:
        printed = polyrel_run(inputs, tiny_relation_model_dir, tmp_path, "--run-id", "run-a", "--runner", "DaskRunner",
                              "--beam-args", f"--dask_client_address={cluster.scheduler_address}")
    assert "counters: not reported by this runner" in printed
    assert_same_output(plain[0], tmp_path)


def test_defaults_are_the_shipped_models_unless_the_environment_says_otherwise(monkeypatch):
    from polyrel.cli import build_parser

    monkeypatch.delenv(defaults.MODEL_ENV, raising=False)
    options = RunOptions.from_args(build_parser().parse_args(["run"]))
    assert Path(options.model).name == "relation-e5-small" and options.ner == "polyrel"
    assert Path(options.ner_model).name == "ner-e5-small"  # resolved once, here
    assert Path(defaults.default_ner_dir(), "config.json").is_file()
    monkeypatch.setenv(defaults.MODEL_ENV, "/models/re")
    options = RunOptions.from_args(build_parser().parse_args(["run"]))
    assert options.inputs == defaults.default_inputs() and options.model == "/models/re"
    assert options.pipeline_options().get_all_options()["runner"] == "DirectRunner"
    dask = RunOptions.from_args(build_parser().parse_args(["run", "--runner", "DaskRunner", "--beam-args", "--foo=1"]))
    assert dask.pipeline_options().get_all_options(retain_unknown_options=True)["runner"].endswith("dask_runner.DaskRunner")
    assert options.cjk_words == "segmenter"
    assert RunOptions.from_args(build_parser().parse_args(["run", "--cjk-words", "characters"])).cjk_words == "characters"
    with pytest.raises(ValueError, match="cjk_words"):
        RunOptions(model="m", cjk_words="bigrams")
    assert options.lang is None and RunOptions.from_args(build_parser().parse_args(["run", "--lang", "de-AT"])).lang == "de-AT"
    with pytest.raises(ValueError, match="'tlh' is not one the embedded splitter handles"):
        RunOptions(model="m", lang="tlh")
    assert RunOptions(model="m", lang="tlh", stanza_dir="/stanza").lang == "tlh"  # stanza may have it


def test_stanza_ner_without_models_fails_at_launch_with_instructions(tiny_relation_model_dir, tmp_path):
    with pytest.raises(RuntimeError, match="stanza.download"):
        main(["run", "--model", str(tiny_relation_model_dir), "--out", str(tmp_path), "--ner", "stanza"])
