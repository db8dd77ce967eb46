import pyarrow as pa

from polyrel.schemas import tables
from polyrel.schemas.records import DeadLetter, Entity, PairCandidate, Sentence, Token, Triple


def mention(start, end, etype, text, ts, te):
    return Entity(start, end, etype, token_start=ts, token_end=te, text=text, source="given")


SENTENCE = Sentence("d1", 0, 0, 19, "Anna works at Acme.", "en",
                    (Token("Anna", 0, 4), Token("works", 5, 10), Token("at", 11, 13), Token("Acme", 14, 18), Token(".", 18, 19)))
ANNA, ACME = mention(0, 4, "person", "Anna", 0, 1), mention(14, 18, "organisation", "Acme", 3, 4)


def test_schemas_carry_name_and_version():
    for name, schema, version in (("triples", tables.TRIPLES_SCHEMA, b"1"), ("entities", tables.ENTITIES_SCHEMA, b"2"),
                                  ("errors", tables.ERRORS_SCHEMA, b"1"), ("files", tables.FILES_SCHEMA, b"1")):
        assert schema.metadata[b"polyrel.table"] == name.encode()
        assert schema.metadata[b"polyrel.schema_version"] == version


def test_rows_fit_their_schemas():
    triple = tables.triple_row(Triple(PairCandidate(SENTENCE, ANNA, ACME), "role", 0.75), "m1", "run1")
    assert triple["head_text"] == "Anna" and triple["tail_start"] == 14 and triple["relation"] == "role"
    pa.Table.from_pylist([triple], schema=tables.TRIPLES_SCHEMA)
    pa.Table.from_pylist([tables.entity_row(SENTENCE, ACME, "run1")], schema=tables.ENTITIES_SCHEMA)
    pa.Table.from_pylist([tables.error_row(DeadLetter(None, "read", "bad"), "run1")], schema=tables.ERRORS_SCHEMA)
    assert set(triple) == set(tables.TRIPLES_SCHEMA.names)


def test_triple_id_depends_on_content_not_run():
    a = tables.triple_row(Triple(PairCandidate(SENTENCE, ANNA, ACME), "role", 0.75), "m1", "run1")
    b = tables.triple_row(Triple(PairCandidate(SENTENCE, ANNA, ACME), "role", 0.10), "m2", "run2")
    assert a["triple_id"] == b["triple_id"] == tables.triple_id("d1", ANNA, ACME, "role")
    assert len(a["triple_id"]) == 64
    assert tables.triple_id("d1", ACME, ANNA, "role") != a["triple_id"]  # direction matters
    assert tables.triple_id("d1", ANNA, ACME, "physical") != a["triple_id"]
    assert tables.triple_id("d2", ANNA, ACME, "role") != a["triple_id"]
