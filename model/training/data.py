"""Readers for the annotated sentences that train and score the models.

Two on-disk formats are read: CrossRE / Multi-CrossRE (token spans with inclusive ends,
relations keyed by spans) and polyrel's own JSONL (token spans with exclusive ends,
relations keyed by entity index). Both become the pipeline's own `schemas.records.Sentence`,
with text and character offsets for every token and entity: where a record has no text
(CrossRE English), its tokens are joined back into text (`detokenize`). A malformed record is
an `InvalidRecordError` naming file, line and reason, or, with `skip_invalid`, a counted
`SkippedRecord`: nothing is dropped silently.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import fsspec

from polyrel.schemas.records import Entity, Relation, Sentence, Token

NO_SPACE_BEFORE = frozenset(",.;:!?)]}%") | {"'s", "n't", "'re", "'ve", "'ll", "'d", "'m", "'", "..."}
NO_SPACE_AFTER = frozenset("([{$")


def detokenize(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Tokens joined as running text (no space before closing punctuation or after opening;
    double quotes alternate between opening and closing), with each token's character span."""
    text = ""
    spans: list[tuple[int, int]] = []
    quote_open = glue_next = False
    for i, token in enumerate(tokens):
        closing_quote = token == '"' and quote_open
        if i and not glue_next and token not in NO_SPACE_BEFORE and not closing_quote:
            text += " "
        spans.append((len(text), len(text) + len(token)))
        text += token
        glue_next = token in NO_SPACE_AFTER or (token == '"' and not quote_open)
        if token == '"':
            quote_open = not quote_open
    return text, spans


def find_tokens(tokens: Sequence[str], text: str) -> list[tuple[int, int]]:
    """Each token's character span, found in order in `text`."""
    spans, cursor = [], 0
    for token in tokens:
        start = text.find(token, cursor)
        if start < 0:
            raise ValueError(f"token {token!r} does not occur in the text after character {cursor}")
        cursor = start + len(token)
        spans.append((start, cursor))
    return spans


def sentence_record(sentence: Sentence) -> dict[str, Any]:
    """polyrel's JSONL record of an annotated sentence (the documented training/predict format)."""
    return {
        "id": sentence.doc_id, "lang": sentence.lang, "tokens": list(sentence.words), "text": sentence.text,
        "token_spans": [[t.start, t.end] for t in sentence.tokens],
        "entities": [{"start": e.token_start, "end": e.token_end, "type": e.type} for e in sentence.entities],
        "relations": [{"head": r.head, "tail": r.tail, "labels": list(r.labels)} for r in sentence.relations],
    }


class InvalidRecordError(ValueError):
    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass(frozen=True)
class SkippedRecord:
    path: str
    line: int
    reason: str


@dataclass
class Corpus:
    """Sentences read from one or more files, the records skipped on the way, and the
    relations dropped from kept records (a relation from an entity to itself, which CrossRE
    contains a few of, is no candidate pair in any task mode)."""

    sentences: list[Sentence]
    skipped: list[SkippedRecord] = field(default_factory=list)
    dropped: list[SkippedRecord] = field(default_factory=list)


def _open_text(path: str) -> io.TextIOBase:
    """Any local path or fsspec URL; gzip by magic bytes, so a `.json.gz` misnamed still reads."""
    raw = fsspec.open(path, "rb").open()
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        raw = gzip.GzipFile(fileobj=raw)
    return io.TextIOWrapper(raw, encoding="utf-8")


def _check_span(start: int, end: int, n_tokens: int, what: str) -> None:
    if not (isinstance(start, int) and isinstance(end, int)):
        raise ValueError(f"{what} span [{start!r}, {end!r}) is not a pair of integers")
    if not 0 <= start < end <= n_tokens:
        raise ValueError(f"{what} span [{start}, {end}) out of range for {n_tokens} tokens")


def _check_tokens(tokens: Any) -> list[str]:
    if not isinstance(tokens, list) or not tokens:
        raise ValueError("empty tokens")
    if not all(isinstance(t, str) and t for t in tokens):
        raise ValueError("tokens must be non-empty strings")
    return tokens


def _sentence(
    doc_id: str, lang: str | None, tokens: list[str], text: str | None, spans: Sequence[Sequence[int]] | None,
    entities: Sequence[tuple[int, int, str]], relations: Sequence[Relation],
) -> Sentence:
    """The sentence with character offsets for its tokens and entities: the record's own token
    spans, else its tokens found in its text, else its tokens detokenized."""
    if text is None:
        text, spans = detokenize(tokens)
    elif spans is None:
        spans = find_tokens(tokens, text)
    elif len(spans) != len(tokens) or not all(0 <= s <= e <= len(text) for s, e in spans):
        raise ValueError(f"token spans do not match the {len(tokens)} tokens of a text of {len(text)} characters")
    token_records = tuple(Token(t, s, e) for t, (s, e) in zip(tokens, spans))
    return Sentence(
        doc_id=doc_id, index=0, start=0, end=len(text), text=text, lang=lang or "und", tokens=token_records,
        entities=tuple(Entity.over_tokens(s, e, etype, spans[s][0], spans[e - 1][1]) for s, e, etype in entities),
        relations=tuple(relations),
    )


def parse_crossre(record: dict[str, Any], lang: str | None = None, dropped: list[str] | None = None) -> Sentence:
    """A CrossRE line: `ner` ends and relation spans are inclusive token indices."""
    dropped = [] if dropped is None else dropped
    tokens = _check_tokens(record.get("sentence"))
    entities: list[tuple[int, int, str]] = []
    index: dict[tuple[int, int], int] = {}
    for start, end_incl, etype in record.get("ner", []):
        _check_span(start, end_incl + 1, len(tokens), f"entity {etype!r}")
        index.setdefault((start, end_incl), len(entities))
        entities.append((start, end_incl + 1, etype))
    labels_by_pair: dict[tuple[int, int], list[str]] = {}
    for rel in record.get("relations", []):
        hs, he, ts, te, label = rel[:5]
        for span in ((hs, he), (ts, te)):
            if span not in index:
                raise ValueError(f"relation {label!r} refers to unknown entity span {list(span)}")
        pair = (index[(hs, he)], index[(ts, te)])
        if pair[0] == pair[1]:
            dropped.append(f"dropped relation {label!r} from entity {[hs, he]} to itself")
            continue
        labels = labels_by_pair.setdefault(pair, [])
        if label not in labels:
            labels.append(label)
    relations = [Relation(h, t, tuple(ls)) for (h, t), ls in labels_by_pair.items()]
    return _sentence(str(record.get("doc_key", "")), lang, tokens, record.get("sentence-detokenized"),
                     record.get("token2charspan"), entities, relations)


def parse_polyrel(record: dict[str, Any], lang: str | None = None, dropped: list[str] | None = None) -> Sentence:
    """polyrel's JSONL line: `end` is exclusive; relations index into `entities`; `text` and
    `token_spans` (the tokens' character spans in it) optional."""
    dropped = [] if dropped is None else dropped
    tokens = _check_tokens(record.get("tokens"))
    entities = []
    for e in record.get("entities", []):
        if "type" not in e:
            raise ValueError(f"entity {e!r} has no type")
        _check_span(e.get("start"), e.get("end"), len(tokens), f"entity {e['type']!r}")
        entities.append((e["start"], e["end"], e["type"]))
    relations = []
    for r in record.get("relations", []):
        head, tail = r.get("head"), r.get("tail")
        for idx in (head, tail):
            if not isinstance(idx, int) or not 0 <= idx < len(entities):
                raise ValueError(f"relation {r!r} refers to unknown entity {idx!r}")
        if head == tail:
            dropped.append(f"dropped relation {r!r} from an entity to itself")
            continue
        labels = r.get("labels") or ([r["label"]] if "label" in r else [])
        if not labels:
            raise ValueError(f"relation {r!r} has no label")
        relations.append(Relation(head, tail, tuple(labels)))
    return _sentence(str(record.get("id", "")), record.get("lang", lang), tokens, record.get("text"),
                     record.get("token_spans"), entities, relations)


def iter_records(
    path: str, lang: str | None = None, skip_invalid: bool = False,
    skipped: list[SkippedRecord] | None = None, dropped: list[SkippedRecord] | None = None,
) -> Iterator[Sentence]:
    """Sentences of one JSONL file in either format, told apart per line by their keys."""
    with _open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("line is not a JSON object")
                parse = parse_crossre if "sentence" in record else parse_polyrel
                notes: list[str] = []
                sentence = parse(record, lang, notes)
                if dropped is not None:
                    dropped.extend(SkippedRecord(str(path), line_no, note) for note in notes)
                if not sentence.doc_id:
                    sentence = replace(sentence, doc_id=f"{Path(str(path)).name}:{line_no}")
                yield sentence
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                reason = f"invalid JSON: {exc}" if isinstance(exc, json.JSONDecodeError) else str(exc)
                if not skip_invalid:
                    raise InvalidRecordError(str(path), line_no, reason) from exc
                if skipped is not None:
                    skipped.append(SkippedRecord(str(path), line_no, reason))


# Multi-CrossRE names its language folders in English; polyrel speaks ISO 639-1 throughout.
LANGUAGE_FOLDERS: dict[str, str] = {
    "en": "en", "english": "en", "german": "de", "spanish": "es", "chinese": "zh",
    "japanese": "ja", "french": "fr", "finnish": "fi", "turkish": "tr", "greek": "el",
    "ukrainian": "uk", "indonesian": "id",
}


def language_of(path: str) -> str | None:
    """The language a Multi-CrossRE file is in, from its folder (`en/`, `german/`, ...)."""
    return LANGUAGE_FOLDERS.get(Path(str(path)).parent.name.lower())


def read_corpus(paths: Sequence[str] | str, skip_invalid: bool = False) -> Corpus:
    paths = [paths] if isinstance(paths, str) else list(paths)
    corpus = Corpus(sentences=[])
    for path in paths:
        corpus.sentences.extend(
            iter_records(path, language_of(path), skip_invalid, corpus.skipped, corpus.dropped)
        )
    return corpus


def sample(sentences: Sequence[Sentence], n: int | None, seed: int = 0) -> list[Sentence]:
    """A fixed random subset (in corpus order): early stopping on a large dev set need not score it all."""
    if n is None or n >= len(sentences):
        return list(sentences)
    import random

    keep = set(random.Random(seed).sample(range(len(sentences)), n))
    return [s for i, s in enumerate(sentences) if i in keep]


def heldout_keys(sentences: Sequence[Sentence], n: int, seed: int = 0) -> frozenset[str]:
    """A fixed random set of `n` sentence ids. Multi-CrossRE's translations keep the English ids,
    so holding out by id holds a sentence out in every language: no translation of a held-out
    sentence trains."""
    import random

    ids = sorted({s.doc_id for s in sentences})
    return frozenset(random.Random(seed).sample(ids, min(n, len(ids))))


def write_jsonl(sentences: Iterable[Sentence], path: str) -> None:
    with fsspec.open(path, "wt", encoding="utf-8", compression="infer") as handle:
        for sentence in sentences:
            handle.write(json.dumps(sentence_record(sentence), ensure_ascii=False) + "\n")
