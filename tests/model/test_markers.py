import pytest

from polyrel.model.markers import GENERIC_MARKER, MarkerInventory, insert_markers
from polyrel.schemas.records import Entity

UM = MarkerInventory("um", ())
ETM = MarkerInventory("etm", ("person", "location"))


def marked(n, head, tail, inventory=UM):
    seq = insert_markers(n, head, tail, inventory.pair("head", head.type), inventory.pair("tail", tail.type))
    return seq, [f"w{i}" if isinstance(i, int) else i for i in seq.items]


def test_um_head_before_tail():
    seq, items = marked(5, Entity.over_tokens(0, 2, "person"), Entity.over_tokens(3, 4, "location"))
    assert items == ["[E1]", "w0", "w1", "[/E1]", "w2", "[E2]", "w3", "[/E2]", "w4"]
    assert (seq.head_start, seq.head_end, seq.tail_start, seq.tail_end) == (0, 3, 5, 7)


def test_reversed_entities_keep_roles():
    seq, items = marked(5, Entity.over_tokens(3, 5, "person"), Entity.over_tokens(0, 1, "location"))
    assert items == ["[E2]", "w0", "[/E2]", "w1", "w2", "[E1]", "w3", "w4", "[/E1]"]
    assert (seq.head_start, seq.head_end, seq.tail_start, seq.tail_end) == (5, 8, 0, 2)


def test_etm_uses_type_on_both_sides():
    _, items = marked(4, Entity.over_tokens(0, 1, "person"), Entity.over_tokens(2, 4, "location"), ETM)
    assert items == ["[PERSON]", "w0", "[PERSON]", "w1", "[LOCATION]", "w2", "w3", "[LOCATION]"]


def test_adjacent_entities_close_before_open():
    _, items = marked(3, Entity.over_tokens(0, 1, "person"), Entity.over_tokens(1, 3, "location"))
    assert items == ["[E1]", "w0", "[/E1]", "[E2]", "w1", "w2", "[/E2]"]


def test_nested_entities_nest_markers():
    seq, items = marked(4, Entity.over_tokens(1, 2, "person"), Entity.over_tokens(0, 4, "location"))
    assert items == ["[E2]", "w0", "[E1]", "w1", "[/E1]", "w2", "w3", "[/E2]"]
    assert seq.tail_start == 0 and seq.tail_end == 7


def test_identical_spans_head_outside():
    _, items = marked(2, Entity.over_tokens(0, 2, "person"), Entity.over_tokens(0, 2, "location"))
    assert items == ["[E1]", "[E2]", "w0", "w1", "[/E2]", "[/E1]"]


def test_crossing_spans_keep_boundaries():
    _, items = marked(5, Entity.over_tokens(0, 3, "person"), Entity.over_tokens(2, 5, "location"))
    assert items == ["[E1]", "w0", "w1", "[E2]", "w2", "[/E1]", "w3", "w4", "[/E2]"]


def test_unseen_type_gets_generic_marker_and_is_counted():
    inventory = MarkerInventory("etm", ("person",))
    assert inventory.pair("head", "spaceship") == (GENERIC_MARKER, GENERIC_MARKER)
    assert inventory.pair("tail", "spaceship") == (GENERIC_MARKER, GENERIC_MARKER)
    assert inventory.unseen_types["spaceship"] == 2
    assert GENERIC_MARKER in inventory.tokens


def test_out_of_range_span_is_an_error():
    with pytest.raises(ValueError, match="out of range"):
        marked(3, Entity.over_tokens(2, 4, "person"), Entity.over_tokens(0, 1, "location"))


def test_unknown_scheme_rejected():
    with pytest.raises(ValueError, match="unknown marker scheme"):
        MarkerInventory("xyz", ())  # type: ignore[arg-type]
