import argparse
import gzip
import json

import pytest

from polyrel.model.training.data import InvalidRecordError, heldout_keys, parse_polyrel, read_corpus, write_jsonl
from tests.conftest import CROSSRE

GOOD_CROSSRE = {"doc_key": "d1", "sentence": ["Anna", "lives", "in", "Paris"], "ner": [[0, 0, "person"], [3, 3, "location"]],
                "relations": [[0, 0, 3, 3, "physical", "", False, False], [0, 0, 3, 3, "role", "", False, False]]}
GOOD_POLYREL = {"id": "p1", "lang": "de", "tokens": ["Anna", "wohnt", "in", "Paris"],
                "entities": [{"start": 0, "end": 1, "type": "person"}, {"start": 3, "end": 4, "type": "location"}],
                "relations": [{"head": 0, "tail": 1, "labels": ["physical"]}]}


def write(tmp_path, records, name="data.jsonl", raw_lines=()):
    path = tmp_path / name
    lines = [json.dumps(r) for r in records] + list(raw_lines)
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return str(path)


def test_crossre_inclusive_spans_and_multilabel_merge(tmp_path):
    corpus = read_corpus(write(tmp_path, [GOOD_CROSSRE], "x.json.gz"))
    (s,) = corpus.sentences
    assert [e.token_span for e in s.entities] == [(0, 1), (3, 4)]
    assert len(s.relations) == 1 and s.relations[0].labels == ("physical", "role")
    assert s.text == "Anna lives in Paris" and [(e.start, e.end) for e in s.entities] == [(0, 4), (14, 19)]  # detokenized


def test_polyrel_text_places_tokens_and_entities_in_it():
    s = parse_polyrel({**GOOD_POLYREL, "text": "Anna  wohnt in Paris!"})
    assert [(t.start, t.end) for t in s.tokens] == [(0, 4), (6, 11), (12, 14), (15, 20)]
    assert [s.text[e.start:e.end] for e in s.entities] == ["Anna", "Paris"]
    with pytest.raises(ValueError, match="does not occur in the text"):
        parse_polyrel({**GOOD_POLYREL, "text": "Anna lebt in Paris"})
    with pytest.raises(ValueError, match="token spans do not match"):
        parse_polyrel({**GOOD_POLYREL, "text": "Anna", "token_spans": [[0, 9]] * 4})


def test_polyrel_roundtrip(tmp_path):
    path = write(tmp_path, [GOOD_POLYREL])
    (s,) = read_corpus(path).sentences
    out = tmp_path / "again.jsonl"
    write_jsonl([s], str(out))
    (again,) = read_corpus(str(out)).sentences
    assert again == s and s.lang == "de"


@pytest.mark.skipif(not (CROSSRE / "german" / "news-test.json.gz").is_file(), reason="Multi-CrossRE data not found")
def test_real_multicrossre_has_char_offsets_and_language():
    (first, *_) = read_corpus(str(CROSSRE / "german" / "news-test.json.gz")).sentences
    assert first.lang == "de"
    for e in first.entities:
        assert first.text[e.start:e.end].replace(" ", "") == "".join(first.words[e.token_start:e.token_end])


BAD = [
    ({**GOOD_CROSSRE, "ner": [[0, 9, "person"]], "relations": []}, "out of range"),
    ({**GOOD_CROSSRE, "relations": [[1, 1, 3, 3, "role", "", False, False]]}, "unknown entity"),
    ({**GOOD_CROSSRE, "sentence": []}, "empty tokens"),
    ({**GOOD_POLYREL, "entities": [{"start": 2, "end": 7, "type": "person"}]}, "out of range"),
    ({**GOOD_POLYREL, "relations": [{"head": 0, "tail": 5, "labels": ["x"]}]}, "unknown entity"),
    ({**GOOD_POLYREL, "tokens": []}, "empty tokens"),
]


@pytest.mark.parametrize("record,reason", BAD)
def test_each_invalid_record_names_file_line_reason(tmp_path, record, reason):
    path = write(tmp_path, [GOOD_POLYREL, record])
    with pytest.raises(InvalidRecordError, match=reason) as info:
        read_corpus(path)
    assert info.value.line == 2 and info.value.path == path


def test_invalid_json_line(tmp_path):
    path = write(tmp_path, [GOOD_POLYREL], raw_lines=["{not json"])
    with pytest.raises(InvalidRecordError, match="invalid JSON"):
        read_corpus(path)


def test_skip_invalid_counts_instead(tmp_path):
    path = write(tmp_path, [GOOD_POLYREL] + [r for r, _ in BAD], raw_lines=["{not json"])
    corpus = read_corpus(path, skip_invalid=True)
    assert len(corpus.sentences) == 1
    assert [s.line for s in corpus.skipped] == list(range(2, 2 + len(BAD) + 1))


def test_self_relation_dropped_and_counted(tmp_path):
    record = {**GOOD_CROSSRE, "relations": GOOD_CROSSRE["relations"] + [[0, 0, 0, 0, "role", "", False, False]]}
    corpus = read_corpus(write(tmp_path, [record]))
    assert len(corpus.sentences[0].relations) == 1
    assert [(d.line, "itself" in d.reason) for d in corpus.dropped] == [(1, True)]


def test_held_out_ids_hold_a_sentence_out_in_every_language(tmp_path):
    from polyrel.model.relation.cli import add_data_arguments, training_data

    en, de = tmp_path / "en", tmp_path / "german"
    for folder in (en, de):
        folder.mkdir()
        lines = [{"doc_key": f"news-dev-{i}", "sentence": ["Anna", "x"], "ner": [[0, 0, "person"]], "relations": []}
                 for i in range(10)]
        (folder / "news-dev.json").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    parser.add_argument("--skip-invalid", action="store_true")
    args = parser.parse_args(["--train", str(en / "news-dev.json"), str(de / "news-dev.json"),
                              "--dev", str(en / "news-dev.json"), str(de / "news-dev.json"), "--dev-keys", "3"])
    train, dev = training_data(args)
    held = {s.doc_id for s in dev}
    assert len(held) == 3 and len(dev) == 6 and {s.lang for s in dev} == {"en", "de"}
    assert len(train) == 14 and not held & {s.doc_id for s in train}
    assert held == heldout_keys(dev, 3)
