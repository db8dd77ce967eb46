import pytest
from transformers import AutoTokenizer

from polyrel.model.relation.encoding import (
    GENERIC_MARKER,
    EncodedPair,
    MarkerInventory,
    PairEncoder,
    Unfit,
    insert_markers,
    window,
)
from polyrel.schemas.records import Entity
from tests.conftest import unigram_tokenizer

TYPES = ("person", "location")


def encoder_for(directory, max_length=64, scheme="etm"):
    tokenizer = AutoTokenizer.from_pretrained(directory)
    markers = MarkerInventory(scheme, TYPES)
    tokenizer.add_special_tokens({"additional_special_tokens": markers.tokens})
    return PairEncoder(tokenizer, markers, max_length), tokenizer


@pytest.mark.parametrize("family", ["tiny_bert_dir", "tiny_xlmr_dir"])
def test_marker_positions_point_at_markers(family, request):
    encoder, tokenizer = encoder_for(request.getfixturevalue(family))
    words = tuple("anna visited paris and london".split())
    pair = encoder.encode(words, Entity.over_tokens(0, 1, "person"), Entity.over_tokens(2, 3, "location"))
    tokens = tokenizer.convert_ids_to_tokens(list(pair.input_ids))
    assert tokens[0] in ("[CLS]", "<s>") and tokens[-1] in ("[SEP]", "</s>")
    assert tokens[pair.head_span[0]] == tokens[pair.head_span[1]] == "[PERSON]"
    assert tokens[pair.tail_span[0]] == tokens[pair.tail_span[1]] == "[LOCATION]"
    inside = "".join(tokens[pair.tail_span[0] + 1: pair.tail_span[1]]).replace("▁", "")
    assert inside == "paris"
    assert (pair.head_type, pair.tail_type) == (1, 2)


def test_window_centres_on_entities():
    assert window(10, 2, 4, 20) == (0, 10)
    assert window(100, 50, 52, 9) == (47, 56)
    assert window(100, 0, 2, 9) == (0, 9)
    assert window(100, 97, 99, 9) == (91, 100)
    assert window(100, 10, 30, 9) is None


def test_long_sentence_windowed_keeps_both_entities(tiny_bert_dir):
    encoder, tokenizer = encoder_for(tiny_bert_dir, max_length=16)
    words = tuple(["the"] * 30 + ["anna"] + ["the"] * 3 + ["paris"] + ["the"] * 30)
    pair = encoder.encode(words, Entity.over_tokens(30, 31, "person"), Entity.over_tokens(34, 35, "location"))
    assert isinstance(pair, EncodedPair) and len(pair.input_ids) == 16
    tokens = tokenizer.convert_ids_to_tokens(list(pair.input_ids))
    assert tokens[pair.head_span[0] + 1] == "anna" and tokens[pair.tail_span[0] + 1] == "paris"
    assert tokens[pair.head_span[1]] == "[PERSON]" and tokens[pair.tail_span[1]] == "[LOCATION]"


def test_pair_too_far_apart_is_unfit_with_reason(tiny_bert_dir):
    encoder, _ = encoder_for(tiny_bert_dir, max_length=16)
    words = tuple(["anna"] + ["the"] * 40 + ["paris"])
    result = encoder.encode(words, Entity.over_tokens(0, 1, "person"), Entity.over_tokens(41, 42, "location"))
    assert isinstance(result, Unfit) and "max_length 16" in result.reason


def test_missing_markers_in_tokenizer_rejected(tiny_bert_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    with pytest.raises(ValueError, match="lacks marker tokens"):
        PairEncoder(tokenizer, MarkerInventory("um", ()), 32)


@pytest.mark.parametrize("joining", ["spaced", "as_written"])
def test_words_written_together_lose_the_word_start_piece_as_written(joining):
    tokenizer = unigram_tokenizer(["▁", "▁任正非", "▁深圳", "深圳", "在", "华", "为", "。", "▁sony", "▁works"])
    markers = MarkerInventory("etm", ("person", "location"))
    tokenizer.add_special_tokens({"additional_special_tokens": markers.tokens})
    encoder = PairEncoder(tokenizer, markers, 64, word_joining=joining)
    words = ("任正非", "在", "深圳", "华为", "。", "sony", "works")
    pieces = [tokenizer.convert_ids_to_tokens(p) for p in encoder.word_pieces(words)]
    if joining == "spaced":
        assert pieces == [["▁任正非"], ["▁", "在"], ["▁深圳"], ["▁", "华", "为"], ["▁", "。"], ["▁sony"], ["▁works"]]
    else:  # the first word and words after a Latin one keep theirs; "▁深圳" reads as "深圳"
        assert pieces == [["▁任正非"], ["在"], ["深圳"], ["华", "为"], ["。"], ["▁sony"], ["▁works"]]
    pair = encoder.encode(words, Entity.over_tokens(0, 1, "person"), Entity.over_tokens(2, 3, "location"))
    tokens = tokenizer.convert_ids_to_tokens(list(pair.input_ids))
    assert tokens[pair.tail_span[0]] == tokens[pair.tail_span[1]] == "[LOCATION]"
    assert tokens[pair.tail_span[0] + 1: pair.tail_span[1]] == pieces[2]


def test_unknown_word_joining_is_refused(tiny_bert_dir):
    with pytest.raises(ValueError, match="word_joining"):
        PairEncoder(AutoTokenizer.from_pretrained(tiny_bert_dir), MarkerInventory("um", ()), 32, word_joining="glued")


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
