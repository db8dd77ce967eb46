"""Stage 4: ordered entity pairs per sentence, the candidates the relation model scores.

Every ordered pair (head ≠ tail) of a sentence's mentions is a candidate, so cost grows with
the square of the entity count; two filters keep it in check: `max_distance` (tokens between
the two spans) and `type_pairs` (only the (head type, tail type) combinations seen in training,
from the model's config). Pairs whose spans overlap are skipped (counted). A mention whose
type the model did not see in training is still paired: the model marks it with its generic
`[ENTITY]` marker; such mentions are counted (`entities_unseen_type`), never an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam

from polyrel.schemas.records import AnnotatedSentence, EntityMention, PairCandidate
from polyrel.transforms.deadletters import count


@dataclass(frozen=True)
class PairFilter:
    entity_types: frozenset[str]  # the relation model's types; others get its generic marker
    max_distance: int | None = None  # tokens between head and tail spans
    type_pairs: frozenset[tuple[str, str]] | None = None  # None: all type combinations


def token_gap(a: EntityMention, b: EntityMention) -> int:
    """Tokens strictly between two spans; 0 when adjacent, negative when they overlap."""
    return max(a.token_start, b.token_start) - min(a.token_end, b.token_end)


def enumerate_pairs(annotated: AnnotatedSentence, rules: PairFilter) -> Iterator[PairCandidate]:
    sentence = annotated.sentence
    mentions = annotated.entities
    count("entities_unseen_type", sum(m.type not in rules.entity_types for m in mentions))
    for head in mentions:
        for tail in mentions:
            if head is tail:
                continue
            gap = token_gap(head, tail)
            if gap < 0:
                count("pairs_overlapping")
            elif rules.max_distance is not None and gap > rules.max_distance:
                count("pairs_too_far")
            elif rules.type_pairs is not None and (head.type, tail.type) not in rules.type_pairs:
                count("pairs_type_filtered")
            else:
                count("pairs")
                yield PairCandidate(sentence, head, tail)


class EnumeratePairs(beam.PTransform):
    """Annotated sentences → pair candidates. No dead letters: every sentence reaching this stage
    is well formed, and a pair left out is counted by its reason instead."""

    def __init__(self, rules: PairFilter) -> None:
        super().__init__()
        self.rules = rules

    def expand(self, sentences: beam.PCollection) -> beam.PCollection:
        return sentences | "Enumerate" >> beam.FlatMap(enumerate_pairs, self.rules)
