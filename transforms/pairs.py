"""Stage 4: the candidate pairs of each sentence, within a budget, as the relation model scores them.

Every ordered pair (head ≠ tail) of a sentence's mentions is a candidate, or under a model of
the `unordered` scheme every pair once in sentence order (model/relation/pairs.py), so cost grows
with the square of the entity count. Three caps, on by default in `polyrel run` (RunOptions), keep one
document from running away (a 20,000-character sentence with 700 mentions would give 500,000 pairs):

- `max_entities`: a sentence with more mentions is not paired at all;
- `max_distance`: pairs more than this many tokens apart are not scored;
- `max_pairs_per_document`: once a document's pairs reach it, its later sentences are not paired.

Each overflow is one dead letter naming the cap and the option that raises it; nothing is
left out silently. Two filters narrow the candidates without a dead letter (they are
choices, not overflows): `type_pairs` (only the (head type, tail type) combinations seen in
training) and overlapping spans (never paired; counted). A mention whose type the model did not
see in training is still paired under its generic `[ENTITY]` marker (counted).

The output unit is `SentencePairs`: a sentence with the positions of its candidate pairs, so a
sentence travels through the relation stage's shuffle once however many pairs it has, and a
pair and its mirror sit side by side (one encoder pass for both under type markers).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam

from polyrel.model.choices import PairScheme
from polyrel.model.relation.pairs import candidate_pairs
from polyrel.schemas.records import AnnotatedDocument, DeadLetter, Entity, Sentence, SentencePairs
from polyrel.transforms.deadletters import count, dead_letter, split_dead_letters

STAGE = "pairs"


@dataclass(frozen=True)
class PairFilter:
    """Which pairs of a document are scored: the model's types and type pairs, and the caps."""

    entity_types: frozenset[str]  # the relation model's types; others get its generic marker
    type_pairs: frozenset[tuple[str, str]] | None = None  # None: all type combinations
    # the caps, None: none; `polyrel run`'s defaults are RunOptions' (50, 100, 20,000)
    max_entities: int | None = None  # mentions per sentence (50 give 2,450 pairs)
    max_distance: int | None = None  # tokens between head and tail spans
    max_pairs_per_document: int | None = None
    pairs: PairScheme = "ordered"  # the relation model's candidate scheme

    def __post_init__(self) -> None:
        for name in ("max_entities", "max_distance", "max_pairs_per_document"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")


def token_gap(a: Entity, b: Entity) -> int:
    """Tokens strictly between two spans; 0 when adjacent, negative when they overlap."""
    return max(a.token_start, b.token_start) - min(a.token_end, b.token_end)


def sentence_pairs(sentence: Sentence, rules: PairFilter) -> tuple[tuple[tuple[int, int], ...], int]:
    """(candidate pairs as entity positions, each pair beside its mirror; pairs dropped as too far apart).
    Under the unordered scheme a type-pair filter keeps a candidate whose types are related either way."""
    mentions = sentence.entities
    count("entities_unseen_type", sum(m.type not in rules.entity_types for m in mentions))
    pairs: list[tuple[int, int]] = []
    too_far = 0
    for a in range(len(mentions)):
        for b in range(a + 1, len(mentions)):
            candidates = candidate_pairs(mentions, a, b, rules.pairs)
            gap = token_gap(mentions[a], mentions[b])
            if gap < 0:
                count("pairs_overlapping", len(candidates))
                continue
            if rules.max_distance is not None and gap > rules.max_distance:
                too_far += len(candidates)
                continue
            for head, tail in candidates:
                types = {(mentions[head].type, mentions[tail].type)}
                if rules.pairs == "unordered":
                    types.add((mentions[tail].type, mentions[head].type))
                if rules.type_pairs is not None and not types & rules.type_pairs:
                    count("pairs_type_filtered")
                else:
                    pairs.append((head, tail))
    return tuple(pairs), too_far


def document_pairs(document: AnnotatedDocument, rules: PairFilter) -> Iterator[SentencePairs | DeadLetter]:
    """The candidates of every sentence of a document within the caps; a dead letter for each overflow."""
    budget = rules.max_pairs_per_document
    used = 0
    for position, sentence in enumerate(document.sentences):
        where = f"sentence {sentence.index}"
        n = len(sentence.entities)
        if rules.max_entities is not None and n > rules.max_entities:
            yield dead_letter(DeadLetter(sentence.doc_id, STAGE, f"{where} has {n} entities, over the cap of"
                                         f" {rules.max_entities} per sentence (--max-entities): its {n * (n - 1)}"
                                         " pairs were not scored", sentence.text[:200]))
            continue
        pairs, too_far = sentence_pairs(sentence, rules)
        if too_far:
            yield dead_letter(DeadLetter(sentence.doc_id, STAGE, f"{where}: {too_far} pairs more than"
                                         f" {rules.max_distance} tokens apart (--max-pair-distance) were not scored"))
        if budget is not None and used + len(pairs) > budget:
            rest = document.sentences[position:]
            yield dead_letter(DeadLetter(sentence.doc_id, STAGE, f"the document's pairs reach the cap of {budget}"
                                         f" per document (--max-pairs-per-doc) at {where}: sentences"
                                         f" {sentence.index}–{rest[-1].index} were not paired"))
            return
        used += len(pairs)
        count("pairs", len(pairs))
        if pairs:
            yield SentencePairs(sentence, pairs)


class EnumeratePairs(beam.PTransform):
    """Annotated documents → (sentences with their candidate pairs, dead letters for overflows)."""

    def __init__(self, rules: PairFilter) -> None:
        super().__init__()
        self.rules = rules

    def expand(self, documents: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        return split_dead_letters(documents | "Enumerate" >> beam.FlatMap(document_pairs, self.rules), "Enumerate")
