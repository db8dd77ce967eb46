from polyrel.schemas.records import AnnotatedSentence, DeadLetter, Document, EntityMention, PairCandidate
from polyrel.transforms.pairs import PairFilter, enumerate_pairs
from polyrel.transforms.sentences import rule_sentences

TEXT = "Anna met Bo at Acme in Oslo and then flew home to Peru ."
SENTENCE = rule_sentences(Document("d", TEXT, "en"), "en")[0]


def mention(word, etype):
    i = [t.text for t in SENTENCE.tokens].index(word)
    t = SENTENCE.tokens[i]
    return EntityMention(t.start, t.end, etype, word, i, i + 1, "given")


ANNA, BO, ACME, OSLO, PERU = (mention("Anna", "person"), mention("Bo", "person"), mention("Acme", "organisation"),
                              mention("Oslo", "location"), mention("Peru", "country"))
TYPES = frozenset({"person", "organisation", "location", "country"})


def pairs(entities, **rules):
    return list(enumerate_pairs(AnnotatedSentence(SENTENCE, tuple(entities)), PairFilter(TYPES, **rules)))


def names(out):
    return [(p.head.text, p.tail.text) for p in out if isinstance(p, PairCandidate)]


def test_every_ordered_pair():
    assert names(pairs([ANNA, BO, ACME])) == [("Anna", "Bo"), ("Anna", "Acme"), ("Bo", "Anna"), ("Bo", "Acme"),
                                              ("Acme", "Anna"), ("Acme", "Bo")]
    assert pairs([ANNA]) == []


def test_distance_and_type_pair_filters():
    # tokens: Anna0 met1 Bo2 at3 Acme4 in5 Oslo6 and7 then8 flew9 home10 to11 Peru12
    assert names(pairs([ANNA, ACME, PERU], max_distance=3)) == [("Anna", "Acme"), ("Acme", "Anna")]
    restricted = pairs([ANNA, ACME, OSLO], type_pairs=frozenset({("person", "organisation"), ("organisation", "location")}))
    assert names(restricted) == [("Anna", "Acme"), ("Acme", "Oslo")]


def test_overlapping_spans_are_not_paired_and_unseen_types_still_paired():
    wide = EntityMention(ACME.start, OSLO.end, "organisation", "Acme in Oslo", 4, 7, "given")
    assert names(pairs([wide, OSLO, ANNA])) == [("Acme in Oslo", "Anna"), ("Oslo", "Anna"), ("Anna", "Acme in Oslo"),
                                                ("Anna", "Oslo")]
    out = pairs([ANNA, mention("Bo", "dinosaur"), ACME])
    assert not [o for o in out if isinstance(o, DeadLetter)]
    assert ("Bo", "Acme") in names(out) and len(names(out)) == 6
