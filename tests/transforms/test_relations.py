from dataclasses import replace
from pathlib import Path

import pytest

from polyrel.schemas.records import (
    DeadLetter,
    Document,
    Entity,
    PairCandidate,
    SentencePairs,
    Triple,
)
from polyrel.transforms.relations import (
    RelationModelHandler,
    batch_key,
    load_config,
    shards_for,
    stream_batches,
    to_query,
    to_triples,
)
from polyrel.transforms.sentences import rule_sentences


def sentence_pairs(text, *entities, doc_id="d"):
    """The sentence with its entities (word, type) and every ordered pair, mirrors side by side."""
    sentence = rule_sentences(Document(doc_id, text, "en"), "en")[0]
    words = [t.text for t in sentence.tokens]

    def mention(word, etype):
        i = words.index(word)
        return Entity(sentence.tokens[i].start, sentence.tokens[i].end, etype, token_start=i, token_end=i + 1, text=word, source="given")

    mentions = tuple(mention(w, t) for w, t in entities)
    pairs = tuple(p for a in range(len(mentions)) for b in range(a + 1, len(mentions)) for p in ((a, b), (b, a)))
    return SentencePairs(replace(sentence, entities=mentions), pairs)


ITEMS = [
    sentence_pairs("john works for sony in tokyo .", ("john", "person"), ("sony", "organisation"), ("tokyo", "location")),
    sentence_pairs("anna visited paris .", ("anna", "person"), ("paris", "location")),
    sentence_pairs("maria met peter in berlin .", ("maria", "person"), ("peter", "person")),
]
PAIRS = [p for item in ITEMS for p in item.candidates()]


def test_batches_hold_at_most_the_bound_and_keep_mirrors_together():
    batches = list(stream_batches(((3, 0), ITEMS), 4))
    assert [sum(len(part.pairs) for part in b) for b in batches] == [4, 4, 2]  # 6 + 2 + 2 pairs
    for batch in batches:
        for part in batch:
            assert all((t, h) in part.pairs for h, t in part.pairs)  # each pair's mirror is in the same part
    assert [p for b in batches for part in b for p in part.candidates()] == PAIRS  # nothing lost or repeated


def test_keys_are_length_buckets_and_shards_grow_with_the_input():
    bucket, shard = batch_key(ITEMS[1], 16)
    assert bucket == (4).bit_length() and 0 <= shard < 16  # 4 tokens
    assert shards_for(0) == 16 and shards_for(64 << 20) == 64 and shards_for(1 << 40) == 4096


def test_handler_agrees_with_predictor(tiny_relation_model_dir):
    handler = RelationModelHandler(str(tiny_relation_model_dir), threshold=None, batch_size=2, device="cpu")
    model = handler.load_model()
    assert load_config(str(tiny_relation_model_dir)).labels == model.config.labels
    direct = model.predict([to_query(p) for p in PAIRS])
    results = list(handler.run_inference(ITEMS, model))
    assert [r.example for r in results] == ITEMS
    triples = [[(t.label, t.score) for t in to_triples(r)] for r in results]
    expected = iter(direct)
    for item, labels in zip(ITEMS, triples):
        want = [d for _ in item.pairs for d in next(expected).labels]
        assert [label for label, _ in labels] == [label for label, _ in want]
        assert [score for _, score in labels] == pytest.approx([score for _, score in want], abs=1e-5)
    forced = RelationModelHandler(str(tiny_relation_model_dir), threshold=0.0, batch_size=2, device="cpu")
    assert [len(list(to_triples(r))) for r in forced.run_inference(ITEMS, model)] == [len(i.pairs) for i in ITEMS]
    one_at_a_time = RelationModelHandler(str(tiny_relation_model_dir), threshold=None, batch_size=2, device="cpu",
                                         encoder_batch=1)  # passes of one input: the same decisions
    again = [[(t.label, t.score) for t in to_triples(r)] for r in one_at_a_time.run_inference(ITEMS, model)]
    assert [[label for label, _ in ts] for ts in again] == [[label for label, _ in ts] for ts in triples]
    assert [s for ts in again for _, s in ts] == pytest.approx([s for ts in triples for _, s in ts], abs=1e-5)


def test_pairs_too_long_for_the_model_are_dead_letters(tiny_relation_model_dir):
    handler = RelationModelHandler(str(tiny_relation_model_dir), threshold=0.0, batch_size=8, device="cpu")
    model = handler.load_model()
    far = sentence_pairs("john " + "the " * 80 + "sony .", ("john", "person"), ("sony", "organisation"))
    far_result, near_result = handler.run_inference([far, ITEMS[1]], model)
    dead = list(to_triples(far_result))
    assert len(dead) == 2 and all(isinstance(d, DeadLetter) and d.stage == "relations" and "max_length" in d.reason for d in dead)
    assert dead[0].raw.startswith("john [0, 4) → sony")
    triples = list(to_triples(near_result))
    assert all(isinstance(t, Triple) for t in triples) and [t.pair for t in triples] == ITEMS[1].candidates()


def test_chinese_pairs_are_read_as_words_with_exact_entities():
    text = "任正非在深圳创立了华为。"
    sentence = rule_sentences(Document("zh", text, "zh"), "zh")[0]

    def mention(word, etype):
        start = text.index(word)
        first = next(i for i, t in enumerate(sentence.tokens) if t.start == start)
        return Entity(start, start + len(word), etype, token_start=first, token_end=first + len(word), text=word, source="given")

    pair = PairCandidate(sentence, mention("任正非", "person"), mention("华为", "organisation"))
    query = to_query(pair)
    assert query.tokens == ("任正非", "在", "深圳", "创立", "了", "华为", "。")
    assert query.tokens[slice(*query.head.token_span)] == ("任正非",)
    assert query.tokens[slice(*query.tail.token_span)] == ("华为",)
    characters = to_query(pair, "characters")
    assert len(characters.tokens) == len(text) and characters.tokens[slice(*characters.tail.token_span)] == ("华", "为")


def test_a_remote_model_is_cached_privately_and_fetched_again_when_tampered(tiny_relation_model_dir, tmp_path, monkeypatch):
    import fsspec

    from polyrel.transforms.model_dirs import local_model_dir

    monkeypatch.setenv("POLYREL_HOME", str(tmp_path / "home"))
    memory = fsspec.filesystem("memory")
    for path in tiny_relation_model_dir.iterdir():
        memory.pipe(f"/polyrel-test/remote-model/{path.name}", path.read_bytes())
    url = "memory://polyrel-test/remote-model"
    local = Path(local_model_dir(url))
    assert local.parent == tmp_path / "home" / "models" and (local.parent.stat().st_mode & 0o077) == 0
    assert (local / "config.json").read_bytes() == (tiny_relation_model_dir / "config.json").read_bytes()
    (local / "config.json").write_text("{}")  # someone changed the cached copy
    assert Path(local_model_dir(url)) == local
    assert (local / "config.json").read_bytes() == (tiny_relation_model_dir / "config.json").read_bytes()


def test_a_reversed_label_of_an_unordered_model_is_written_tail_to_head():
    from apache_beam.ml.inference.base import PredictionResult

    from polyrel.model.relation.predictor import PairPrediction

    item = replace(ITEMS[1], pairs=((0, 1),))
    backward = PredictionResult(item, (PairPrediction((("physical(e2,e1)", 0.9),)),), "m")
    forward = PredictionResult(item, (PairPrediction((("physical", 0.8),)),), "m")
    [t] = to_triples(backward)
    assert (t.pair.head.text, t.pair.tail.text, t.label, t.score) == ("paris", "anna", "physical", 0.9)
    [t] = to_triples(forward)
    assert (t.pair.head.text, t.pair.tail.text, t.label) == ("anna", "paris", "physical")
