"""The records that flow between pipeline stages, one frozen dataclass per stage boundary.

Every offset is a character offset into the original document text (`Document.text`), end
exclusive, so any stage's output can be traced back to the source without re-tokenising.
`RECORDS_VERSION` changes whenever a field changes meaning; records are not persisted between
runs (the Parquet tables in `schemas.tables` are the contract), but workers of one job must agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RECORDS_VERSION = 3


@dataclass(frozen=True)
class Entity:
    """One entity mention: the record the input, the NER, every transform and both models share.

    `start`/`end`: character offsets `[start, end)` into the text it was found in (a document's;
    for training data, the sentence's), None only for an entity known by words alone (a
    `PairQuery` built from a word list). `token_start`/`token_end`: the span over its sentence's
    tokens, set once the sentence is tokenised (the entity stage; training data has it from the
    start); the relation model reads its own words, derived in `transforms.words.model_words`.
    `text` is the covered text, `source` the NER that found it (or "given"), `score` that NER's
    confidence (None for given spans).
    """

    start: int | None
    end: int | None
    type: str
    score: float | None = None
    token_start: int | None = None
    token_end: int | None = None
    text: str = ""
    source: str = ""

    @classmethod
    def over_tokens(cls, token_start: int, token_end: int, type: str, start: int | None = None,
                    end: int | None = None) -> Entity:
        """An entity known by its token span (training data, model words), character offsets where known."""
        return cls(start, end, type, token_start=token_start, token_end=token_end)

    @property
    def token_span(self) -> tuple[int, int]:
        if self.token_start is None or self.token_end is None:
            raise ValueError(f"entity {self.type!r} [{self.start}, {self.end}) has no token span")
        return self.token_start, self.token_end


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    lang: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
    entities: tuple[Entity, ...] | None = None  # None: the input carried no annotation
    source: str = field(default="", compare=False)  # file:line it was read from, for messages


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # document character offsets
    end: int


@dataclass(frozen=True)
class Relation:
    """A gold relation head→tail between two of a sentence's entities (indices into
    `Sentence.entities`), with every label the annotation gives the pair."""

    head: int
    tail: int
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Sentence:
    """One sentence, the one type for the segmenter's output, the entity stage's, the pair
    stage's input and the annotated training and scoring data (`model.training.data`).

    The segmenter writes it with tokens; the entity stage adds `entities` (with token spans,
    sorted by position); only annotated data has `relations`. A training sentence is its own
    document: `doc_id` is the corpus's sentence id, `index` 0, `start` 0.
    """

    doc_id: str
    index: int  # position in the document, from 0
    start: int  # document character offsets of the sentence
    end: int
    text: str
    lang: str
    tokens: tuple[Token, ...]
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.tokens)


@dataclass(frozen=True)
class SegmentedDocument:
    """A document with its sentences: the entity stage needs both (given spans are per document)."""

    document: Document
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class AnnotatedDocument:
    """A document's sentences with their mentions: the pair stage budgets pairs per document."""

    doc_id: str
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class SentencePairs:
    """A sentence and the candidate pairs the relation model scores in it, as (head, tail)
    positions in `sentence.entities`: one record per sentence, not one per pair."""

    sentence: Sentence
    pairs: tuple[tuple[int, int], ...]

    @property
    def token_count(self) -> int:
        return len(self.sentence.tokens)

    def candidates(self) -> list[PairCandidate]:
        mentions = self.sentence.entities
        return [PairCandidate(self.sentence, mentions[h], mentions[t]) for h, t in self.pairs]

    def split(self, size: int) -> list[SentencePairs]:
        """Parts of at most `size` pairs (an even number where `size` > 1, so a pair stays beside its mirror)."""
        size = size - size % 2 if size > 1 else 1
        return [SentencePairs(self.sentence, self.pairs[i:i + size]) for i in range(0, len(self.pairs), size)]


@dataclass(frozen=True)
class PairCandidate:
    """An ordered (head, tail) pair of mentions from one sentence, to be scored."""

    sentence: Sentence
    head: Entity
    tail: Entity

    @property
    def token_count(self) -> int:
        return len(self.sentence.tokens)


@dataclass(frozen=True)
class Triple:
    pair: PairCandidate
    label: str
    score: float


@dataclass(frozen=True)
class DeadLetter:
    """A record that failed a stage: kept with its reason so the run can go on and be audited."""

    doc_id: str | None
    stage: str  # read | sentences | entities | relations
    reason: str
    raw: str | None = None  # the offending input (line, entity, pair) where available
    source: str | None = None  # file the record came from, where known


@dataclass(frozen=True)
class FileCount:
    """What one input file held: each record read ends as a document or a dead letter, so
    `records == documents + dead_letters` unless something was lost between reading and output."""

    file: str  # the file's URL, or the input pattern that matched no file
    records: int
    documents: int = 0
    dead_letters: int = 0
    compressed: bool = False

    @property
    def balanced(self) -> bool:
        return self.records == self.documents + self.dead_letters
