import sys

import pytest

from polyrel.schemas.records import DeadLetter, Document, Entity, SegmentedDocument, Sentence
from polyrel.transforms import stanza_models
from polyrel.transforms.entities import (
    AnnotateEntities,
    NerSettings,
    align,
    create_ner_backend,
    ner_backends,
    normalise_type,
    register_ner_backend,
)
from polyrel.transforms.sentences import rule_sentences

TEXT = "Anna Berg works at Acme Corp in Oslo. She visited Japan."


def segmented(text=TEXT, entities=None, lang="en"):
    document = Document("d", text, lang, {}, entities)
    return SegmentedDocument(document, tuple(rule_sentences(document, lang)))


def test_align_places_spans_in_sentences_and_tokens():
    spans = [Entity(0, 9, "PER"), Entity(19, 28, "ORG"), Entity(31, 36, "GPE"), Entity(50, 55, "country"),
             Entity(18, 28, "ORG")]  # leading space is trimmed → duplicate of the ORG span
    out = list(align(segmented(entities=tuple(spans)), spans, "given"))
    first, second = out
    assert isinstance(first, Sentence) and isinstance(second, Sentence)
    assert [(m.text, m.type, m.token_start, m.token_end) for m in first.entities] == [
        ("Anna Berg", "person", 0, 2), ("Acme Corp", "organisation", 4, 6), ("Oslo", "location", 7, 8)]
    assert [(m.text, m.start, m.end, m.type) for m in second.entities] == [("Japan", 50, 55, "country")]
    assert second.index == 1 and second.tokens[second.entities[0].token_start].start == 50


def test_a_span_given_twice_is_one_entity_of_the_first_type():
    spans = [Entity(0, 9, "person"), Entity(0, 9, "politician"), Entity(0, 4, "person")]
    (first, _) = align(segmented(entities=tuple(spans)), spans, "given")
    assert [(m.text, m.type) for m in first.entities] == [("Anna", "person"), ("Anna Berg", "person")]


def test_bad_spans_are_dead_letters_and_the_rest_goes_on():
    spans = [Entity(0, 9, "PER"), Entity(50, 99, "PER"), Entity(31, 55, "LOC"), Entity(5, 5, "PER"),
             Entity(0, 4, "DATE")]
    out = list(align(segmented(), spans, "given"))
    dead = [o for o in out if isinstance(o, DeadLetter)]
    assert [d.reason for d in dead] == [
        "entity span [50, 99) lies outside the text (56 characters)",
        "entity span [31, 55) is not inside one sentence",
        "entity span [5, 5) is empty (start equals end)",
    ]
    assert dead[0].raw == '{"start": 50, "end": 99, "type": "PER"}' and dead[0].stage == "entities"
    sentences = [o for o in out if isinstance(o, Sentence)]
    assert [m.text for s in sentences for m in s.entities] == ["Anna Berg"]  # DATE is no CrossRE type: dropped


def test_each_bad_span_says_what_is_wrong_with_it():
    spans = [Entity(9, 3, "person"), Entity(9, 10, "person"), Entity(0, 4, "- _")]
    dead = [o.reason for o in align(segmented(entities=tuple(spans)), spans, "given") if isinstance(o, DeadLetter)]
    assert dead == ["entity span [9, 3) is reversed (end before start)", "entity span [9, 10) covers only whitespace",
                    "entity type '- _' is empty once spaces, '-' and '_' are removed"]


def test_type_normalisation():
    assert normalise_type("PERSON") == "person"
    assert normalise_type("Organization") == "organisation"
    assert normalise_type("GPE") == "location"
    assert normalise_type("political party") == "politicalparty"
    assert normalise_type("CARDINAL") is None


def test_registry_is_open_for_new_backends():
    assert {"given", "stanza"} <= set(ner_backends())
    with pytest.raises(ValueError, match="unknown NER backend 'nope'"):
        create_ner_backend("nope", NerSettings())

    @register_ner_backend("test-first-word")
    def first_word(settings):
        return lambda document, lang: [Entity(0, document.text.index(" "), "person")]

    fn = AnnotateEntities("test-first-word", NerSettings())
    fn.setup()
    [document] = list(fn.process(segmented()))
    first, _ = document.sentences
    assert [(m.text, m.source) for m in first.entities] == [("Anna", "test-first-word")]


def test_stanza_without_models_says_how_to_install(tmp_path):
    with pytest.raises(stanza_models.StanzaModelMissing, match="--stanza-dir"):
        create_ner_backend("stanza", NerSettings())
    fn = AnnotateEntities("stanza", NerSettings(stanza_dir=str(tmp_path)))
    fn.setup()
    [dead] = list(fn.process(segmented()))
    assert isinstance(dead, DeadLetter) and dead.stage == "entities"
    assert "stanza.download('en'" in dead.reason and str(tmp_path) in dead.reason


def test_stanza_not_installed_names_the_extra(tmp_path, monkeypatch):
    for processor in ("tokenize", "ner"):
        (tmp_path / "en" / processor).mkdir(parents=True)
        (tmp_path / "en" / processor / "model.pt").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "stanza", None)  # `import stanza` raises ImportError
    with pytest.raises(stanza_models.StanzaModelMissing, match=r"polyrel\[stanza\]"):
        stanza_models.pipeline(str(tmp_path), "en", "tokenize,ner")
