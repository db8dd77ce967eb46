import json

from polyrel.cli import main
from polyrel.model.ner.annotate import with_predicted_entities
from polyrel.model.ner.modeling import EntityRecognizer
from polyrel.model.relation.training import build_instances
from polyrel.model.training.data import read_corpus, write_jsonl
from tests.model.relation.test_training import toy_sentences


def test_predicted_entities_join_the_gold_ones_without_relations(tiny_ner_model_dir):
    sentences = toy_sentences(6)
    recognizer = EntityRecognizer.load(tiny_ner_model_dir, "cpu", "fp32")
    annotated, counts = with_predicted_entities(sentences, recognizer, min_score=0.0)
    assert counts["added"] > 0
    for before, after in zip(sentences, annotated):
        n = len(before.entities)
        assert after.entities[:n] == before.entities and after.relations == before.relations
        spans = [e.token_span for e in after.entities]
        assert len(set(spans)) == len(spans)  # no span twice, none a gold one's
        for extra in after.entities[n:]:
            assert after.text[extra.start:extra.end] == " ".join(after.words[extra.token_start:extra.token_end])
    # pairs with an added entity are candidates that train as "no relation"; the gold pairs keep their labels
    gold = {(i.sentence, i.head, i.tail): i.gold for i in build_instances(sentences, _NoEncoding(), "extract")}
    for i in build_instances(annotated, _NoEncoding(), "extract"):
        assert i.gold == gold.get((i.sentence, i.head, i.tail), frozenset())


def test_entities_under_the_floor_are_not_added(tiny_ner_model_dir):
    sentences = toy_sentences(4)
    recognizer = EntityRecognizer.load(tiny_ner_model_dir, "cpu", "fp32")
    annotated, counts = with_predicted_entities(sentences, recognizer, min_score=1.01)
    assert annotated == sentences and counts["added"] == 0 and counts["below_floor"] > 0


def test_annotate_cli_writes_training_files_per_language_folder(tiny_ner_model_dir, tmp_path, capsys):
    source = tmp_path / "german" / "news-train.json"
    source.parent.mkdir()
    write_jsonl(toy_sentences(5), str(source))
    assert main(["ner", "annotate", "--model", str(tiny_ner_model_dir), "--data", str(source),
                 "--output-dir", str(tmp_path / "out"), "--min-score", "0", "--quiet"]) == 0
    counts = json.loads(capsys.readouterr().out)
    written = read_corpus(str(tmp_path / "out" / "german" / "news-train.jsonl.gz")).sentences
    assert counts["sentences"] == 5 and [s.doc_id for s in written] == [s.doc_id for s in toy_sentences(5)]
    assert sum(len(s.entities) for s in written) == 15 + counts["added"]


class _NoEncoding:
    """Encodes nothing: the candidates and their gold labels are what these tests look at."""

    def encode(self, words, head, tail):
        return object()
