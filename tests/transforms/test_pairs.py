from dataclasses import replace

import pytest

from polyrel.schemas.records import (
    AnnotatedDocument,
    DeadLetter,
    Document,
    Entity,
    SentencePairs,
)
from polyrel.transforms.pairs import PairFilter, document_pairs
from polyrel.transforms.sentences import rule_sentences

TEXT = "Anna met Bo at Acme in Oslo and then flew home to Peru ."
SENTENCE = rule_sentences(Document("d", TEXT, "en"), "en")[0]


def mention(word, etype):
    i = [t.text for t in SENTENCE.tokens].index(word)
    t = SENTENCE.tokens[i]
    return Entity(t.start, t.end, etype, token_start=i, token_end=i + 1, text=word, source="given")


ANNA, BO, ACME, OSLO, PERU = (mention("Anna", "person"), mention("Bo", "person"), mention("Acme", "organisation"),
                              mention("Oslo", "location"), mention("Peru", "country"))
TYPES = frozenset({"person", "organisation", "location", "country"})


def pairs(entities, sentences=1, **rules):
    annotated = tuple(replace(SENTENCE, index=i, entities=tuple(entities)) for i in range(sentences))
    return list(document_pairs(AnnotatedDocument("d", annotated), PairFilter(TYPES, **rules)))


def names(out):
    return [(p.head.text, p.tail.text) for item in out if isinstance(item, SentencePairs) for p in item.candidates()]


def dead(out):
    return [o.reason for o in out if isinstance(o, DeadLetter)]


def test_every_ordered_pair_each_beside_its_mirror():
    assert names(pairs([ANNA, BO, ACME])) == [("Anna", "Bo"), ("Bo", "Anna"), ("Anna", "Acme"), ("Acme", "Anna"),
                                              ("Bo", "Acme"), ("Acme", "Bo")]
    assert pairs([ANNA]) == []
    [item] = pairs([ANNA, BO])
    assert item.pairs == ((0, 1), (1, 0))  # positions in the sentence's entities: the sentence travels once


def test_type_pair_filter():
    restricted = pairs([ANNA, ACME, OSLO], type_pairs=frozenset({("person", "organisation"), ("organisation", "location")}))
    assert names(restricted) == [("Anna", "Acme"), ("Acme", "Oslo")]
    assert dead(restricted) == []


def test_overlapping_spans_are_not_paired_and_unseen_types_still_paired():
    wide = Entity(ACME.start, OSLO.end, "organisation", token_start=4, token_end=7, text="Acme in Oslo", source="given")
    assert sorted(names(pairs([wide, OSLO, ANNA]))) == sorted([("Acme in Oslo", "Anna"), ("Oslo", "Anna"),
                                                               ("Anna", "Acme in Oslo"), ("Anna", "Oslo")])
    out = pairs([ANNA, mention("Bo", "dinosaur"), ACME])
    assert dead(out) == []
    assert ("Bo", "Acme") in names(out) and len(names(out)) == 6


def test_pairs_too_far_apart_are_one_dead_letter_naming_the_cap():
    # tokens: Anna0 met1 Bo2 at3 Acme4 in5 Oslo6 and7 then8 flew9 home10 to11 Peru12
    out = pairs([ANNA, ACME, PERU], max_distance=3)
    assert names(out) == [("Anna", "Acme"), ("Acme", "Anna")]
    assert dead(out) == ["sentence 0: 4 pairs more than 3 tokens apart (--max-pair-distance) were not scored"]
    assert dead(pairs([ANNA, ACME, PERU], max_distance=None)) == []


def test_a_sentence_over_the_entity_cap_is_not_paired():
    out = pairs([ANNA, BO, ACME, OSLO], max_entities=3)
    assert names(out) == []
    [reason] = dead(out)
    assert "4 entities, over the cap of 3 per sentence (--max-entities)" in reason and "12 pairs" in reason


def test_the_document_budget_stops_pairing_at_the_sentence_that_reaches_it():
    out = pairs([ANNA, BO, ACME], sentences=4, max_pairs_per_document=13)  # 6 pairs per sentence
    assert [item.sentence.index for item in out if isinstance(item, SentencePairs)] == [0, 1]
    [reason] = dead(out)
    assert "cap of 13 per document (--max-pairs-per-doc) at sentence 2: sentences 2–3 were not paired" in reason


def test_negative_caps_are_refused():
    with pytest.raises(ValueError, match="max_entities"):
        PairFilter(TYPES, max_entities=-1)


def test_parts_keep_mirrors_together():
    [item] = pairs([ANNA, BO, ACME])
    assert [part.pairs for part in item.split(5)] == [item.pairs[:4], item.pairs[4:]]
    assert [len(part.pairs) for part in item.split(1)] == [1] * 6


def test_an_unordered_model_gets_each_pair_once_in_sentence_order_and_either_way_for_type_filters():
    assert names(pairs([ACME, ANNA, BO], pairs="unordered")) == [("Anna", "Acme"), ("Bo", "Acme"), ("Anna", "Bo")]
    restricted = pairs([ACME, ANNA, OSLO], pairs="unordered", type_pairs=frozenset({("organisation", "person")}))
    assert names(restricted) == [("Anna", "Acme")]  # (Anna, Acme) in sentence order: the type pair holds read backwards
