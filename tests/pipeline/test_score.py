"""`polyrel score`: documents rebuilt from annotated sentences, the real pipeline, span scoring."""

import json

import pytest

from polyrel.cli import main
from polyrel.model.training.data import detokenize, parse_crossre
from polyrel.pipeline.score import (
    GoldDocument,
    Output,
    gold_documents,
    relaxed_matches,
    score_output,
    sweep,
)


def test_detokenized_text_keeps_every_token_at_its_offsets():
    tokens = ["He", "said", ",", '"', "Hello", "(", "world", ")", '"', ".", "It", "'s", "$", "5", "."]
    text, spans = detokenize(tokens)
    assert text == 'He said, "Hello (world)". It\'s $5.'
    assert [text[s:e] for s, e in spans] == tokens


def test_gold_documents_use_character_spans_of_either_source():
    english = parse_crossre({"doc_key": "d1", "sentence": ["Anna", "lives", "in", "Paris", "."],
                             "ner": [[0, 0, "person"], [3, 3, "location"]],
                             "relations": [[0, 0, 3, 3, "physical"], [0, 0, 3, 3, "role"]]}, "en")
    german = parse_crossre({"doc_key": "d1", "sentence": ["Anna", "wohnt", "in", "Paris"], "sentence-detokenized": "Anna wohnt in Paris.",
                            "token2charspan": [[0, 4], [5, 10], [11, 13], [14, 19]],
                            "ner": [[0, 0, "person"], [3, 3, "location"]], "relations": [[0, 0, 3, 3, "physical"]]}, "de")
    en, de = gold_documents([english, german])
    assert (en.id, en.text, de.id, de.text) == ("en/d1", "Anna lives in Paris.", "de/d1", "Anna wohnt in Paris.")
    assert en.triples == {((0, 4), (14, 19), "physical"), ((0, 4), (14, 19), "role")}
    assert de.entities == {((0, 4), "person"), ((14, 19), "location")}


def test_exact_relaxed_and_threshold_scoring():
    gold = GoldDocument("en/d", "en", "x", {((0, 4), "person"), ((10, 15), "location")},
                        {((0, 4), (10, 15), "physical"), ((10, 15), (0, 4), "part-of")})
    output = Output(
        triples={"en/d": {((0, 4), (10, 15), "physical"): 0.9, ((0, 3), (10, 15), "part-of"): 0.2,
                          ((1, 4), (10, 15), "physical"): 0.4}},
        entities={"en/d": {((0, 4), "person"): None, ((10, 15), "organisation"): None}},
    )
    scores = score_output([gold], output)["en"]
    assert scores["triples_exact"] == {"precision": 0.3333, "recall": 0.5, "f1": 0.4, "tp": 1, "predicted": 3, "gold": 2}
    assert scores["triples_relaxed"]["tp"] == 1  # the overlapping physical triple matches the gold one only once
    assert scores["entities_typed"]["tp"] == 1 and scores["entities_span"]["tp"] == 2
    assert score_output([gold], output, 0.5)["all"]["triples_exact"]["precision"] == 1.0
    result = sweep([gold], output, 0.9)
    assert result["chosen"]["threshold"] == pytest.approx(0.41) and result["chosen"]["f1"] == pytest.approx(0.6667)
    assert relaxed_matches({((0, 3), (11, 12), "physical")}, gold.triples) == 1
    unreachable = sweep([gold], output, 1.1)  # no threshold reaches it: the best F1 overall, flagged
    assert not unreachable["precision_floor_met"] and unreachable["chosen"]["f1"] == pytest.approx(0.6667)


def test_each_wrong_triple_is_counted_by_what_is_wrong_with_it():
    a, b, c = (0, 4), (10, 15), (20, 25)
    gold = GoldDocument("en/d", "en", "x", {(a, "person"), (b, "location"), (c, "location")}, {(a, b, "physical")})
    written = {(a, b, "physical"): 0.9, (a, b, "role"): 0.8, (b, a, "physical"): 0.7, (a, c, "physical"): 0.6,
               ((1, 4), b, "physical"): 0.5}
    scores = score_output([gold], Output(triples={"en/d": written}, entities={}))["all"]
    assert scores["wrong_triples"] == {"entity_span": 1, "no_relation": 1, "reversed": 1, "wrong_label": 1}
    assert score_output([gold], Output(triples={"en/d": written}, entities={}), threshold=0.65)["all"]["wrong_triples"] == {
        "entity_span": 0, "no_relation": 0, "reversed": 1, "wrong_label": 1}


def test_the_entity_floor_drops_low_confidence_entities_and_their_triples():
    gold = GoldDocument("en/d", "en", "x", {((0, 4), "person"), ((10, 15), "location"), ((20, 25), "location")},
                        {((0, 4), (10, 15), "physical")})
    output = Output(
        triples={"en/d": {((0, 4), (10, 15), "physical"): 0.9, ((0, 4), (20, 25), "physical"): 0.8}},
        entities={"en/d": {((0, 4), "person"): 0.95, ((10, 15), "location"): 0.9, ((20, 25), "organisation"): 0.35}},
    )
    assert score_output([gold], output)["en"]["triples_exact"]["precision"] == 0.5
    floored = score_output([gold], output, entity_floor=0.5)["en"]
    assert floored["triples_exact"]["precision"] == 1.0 and floored["entities_typed"]["predicted"] == 2
    result = sweep([gold], output, 0.9)
    assert result["chosen"]["entity_floor"] == 0.4 and result["chosen"]["precision"] == 1.0  # the lowest floor that works
    assert [b["entity_floor"] for b in result["by_entity_floor"]] == [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def test_score_command_runs_the_pipeline_and_writes_a_report(tiny_relation_model_dir, tmp_path, capsys):
    folder = tmp_path / "en"
    folder.mkdir()
    lines = [{"doc_key": f"news-test-{i}", "sentence": ["Anna", "works", "at", "Acme", "in", "Paris", "."],
              "ner": [[0, 0, "person"], [3, 3, "organisation"], [5, 5, "location"]],
              "relations": [[0, 0, 3, 3, "role", "", False, False]]} for i in range(4)]
    data = folder / "news-test.json"
    data.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    report = tmp_path / "report.json"
    model_dir = tmp_path / "model"
    import shutil

    shutil.copytree(tiny_relation_model_dir, model_dir)
    assert main(["score", "--data", str(data), "--sample", "3", "--model", str(model_dir), "--ner", "given", "--sweep",
                 "--min-precision", "0", "--save-threshold", "--report", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["documents"] == 3 and result["languages"] == {"en": 3}
    exact = result["scores"]["en"]["triples_exact"]
    assert exact["gold"] == 3 and exact["predicted"] == 3 * 6  # threshold 0: every ordered pair's best label
    assert result["scores"]["en"]["entities_typed"]["f1"] == 1.0  # the gold entities, given
    chosen = result["sweep"]["chosen"]["threshold"]
    assert json.loads((model_dir / "config.json").read_text())["threshold"] == chosen
    assert "chosen threshold" in capsys.readouterr().out
