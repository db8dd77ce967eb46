from pathlib import Path

import pytest

from polyrel.schemas.records import DeadLetter, Document, EntityMention, PairCandidate, Triple
from polyrel.transforms.relations import (
    RelationModelHandler,
    batch_by_length,
    length_bucket,
    load_config,
    to_query,
    to_triples,
)
from polyrel.transforms.sentences import rule_sentences


def candidate(text, head_word, head_type, tail_word, tail_type, doc_id="d"):
    sentence = rule_sentences(Document(doc_id, text, "en"), "en")[0]
    words = [t.text for t in sentence.tokens]

    def mention(word, etype):
        i = words.index(word)
        return EntityMention(sentence.tokens[i].start, sentence.tokens[i].end, etype, word, i, i + 1, "given")

    return PairCandidate(sentence, mention(head_word, head_type), mention(tail_word, tail_type))


PAIRS = [
    candidate("john works for sony in tokyo .", "john", "person", "sony", "organisation"),
    candidate("john works for sony in tokyo .", "sony", "organisation", "tokyo", "location"),
    candidate("anna visited paris .", "anna", "person", "paris", "location"),
    candidate("maria met peter in berlin .", "peter", "person", "maria", "person"),
]


def test_batches_group_similar_lengths():
    keyed = ((3, 0), [PAIRS[3], PAIRS[2], PAIRS[0], PAIRS[1]])
    batches = list(batch_by_length(keyed, 3))
    assert [len(b) for b in batches] == [3, 1]
    assert [p.token_count for p in batches[0]] == sorted(p.token_count for p in batches[0])
    assert length_bucket(PAIRS[2]) == (4).bit_length()  # 4 tokens


def test_batches_keep_a_pair_beside_its_mirror():
    text = "john works for sony in tokyo ."
    ents = {"john": "person", "sony": "organisation", "tokyo": "location"}
    pairs = [candidate(text, h, ents[h], t, ents[t]) for h in ents for t in ents if h != t]
    batches = list(batch_by_length(((3, 0), pairs), 2))
    assert [{(p.head.text, p.tail.text) for p in b} for b in batches] == [
        {("john", "sony"), ("sony", "john")}, {("john", "tokyo"), ("tokyo", "john")}, {("sony", "tokyo"), ("tokyo", "sony")},
    ]


def test_handler_agrees_with_predictor(tiny_relation_model_dir):
    handler = RelationModelHandler(str(tiny_relation_model_dir), threshold=None, batch_size=2, device="cpu")
    model = handler.load_model()
    assert load_config(str(tiny_relation_model_dir)).labels == model.config.labels
    direct = model.predict([to_query(p) for p in PAIRS])
    results = list(handler.run_inference(PAIRS, model))
    assert [r.example for r in results] == PAIRS
    triples = [[(t.label, t.score) for t in to_triples(r)] for r in results]
    assert [[label for label, _ in labels] for labels in triples] == [[label for label, _ in d.labels] for d in direct]
    for labels, d in zip(triples, direct):
        assert [score for _, score in labels] == pytest.approx([score for _, score in d.labels], abs=1e-5)
    forced = RelationModelHandler(str(tiny_relation_model_dir), threshold=0.0, batch_size=2, device="cpu")
    assert all(len(list(to_triples(r))) == 1 for r in forced.run_inference(PAIRS, model))


def test_pairs_too_long_for_the_model_are_dead_letters(tiny_relation_model_dir):
    handler = RelationModelHandler(str(tiny_relation_model_dir), threshold=0.0, batch_size=8, device="cpu")
    model = handler.load_model()
    far = candidate("john " + "the " * 80 + "sony .", "john", "person", "sony", "organisation")
    far_result, near_result = handler.run_inference([far, PAIRS[0]], model)
    [dead] = list(to_triples(far_result))
    assert isinstance(dead, DeadLetter) and dead.stage == "relations" and "max_length" in dead.reason
    assert dead.raw.startswith("john [0, 4) → sony")
    [triple] = list(to_triples(near_result))
    assert isinstance(triple, Triple) and triple.pair == PAIRS[0]


def test_chinese_pairs_are_read_as_words_with_exact_entities():
    text = "任正非在深圳创立了华为。"
    sentence = rule_sentences(Document("zh", text, "zh"), "zh")[0]

    def mention(word, etype):
        start = text.index(word)
        first = next(i for i, t in enumerate(sentence.tokens) if t.start == start)
        return EntityMention(start, start + len(word), etype, word, first, first + len(word), "given")

    pair = PairCandidate(sentence, mention("任正非", "person"), mention("华为", "organisation"))
    query = to_query(pair)
    assert query.tokens == ("任正非", "在", "深圳", "创立", "了", "华为", "。")
    assert query.tokens[query.head.start:query.head.end] == ("任正非",)
    assert query.tokens[query.tail.start:query.tail.end] == ("华为",)
    characters = to_query(pair, "characters")
    assert len(characters.tokens) == len(text) and characters.tokens[characters.tail.start:characters.tail.end] == ("华", "为")


def test_a_remote_model_is_cached_privately_and_fetched_again_when_tampered(tiny_relation_model_dir, tmp_path, monkeypatch):
    import fsspec

    from polyrel.transforms.relations import local_model_dir

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
