"""Which entity pairs a relation model scores, and which way a label it outputs runs.

Two schemes (`RelationModelConfig.pairs`): `ordered` makes every ordered pair (a, b) a candidate,
so a relation's direction is which of (a, b) and (b, a) carries it; `unordered` makes one
candidate per pair, the entity that comes first in the sentence as head, and reads a label
either way: `label` from first to second, `label(e2,e1)` from second to first (the paper's
scheme). Shared by training, evaluation and the pipeline's pair stage; no torch here, so the
pipeline's graph builds without it.
"""

from __future__ import annotations

from collections.abc import Sequence

from polyrel.model.choices import PairScheme
from polyrel.schemas.records import Entity

REVERSED = "(e2,e1)"  # suffix of an unordered model's labels that run from the second entity to the first


def reversed_label(label: str) -> str:
    return label + REVERSED


def orient(label: str) -> tuple[str, bool]:
    """(the relation label, whether it runs from the candidate's second entity to its first)."""
    return (label.removesuffix(REVERSED), True) if label.endswith(REVERSED) else (label, False)


def candidate_pairs(entities: Sequence[Entity], a: int, b: int, scheme: PairScheme) -> tuple[tuple[int, int], ...]:
    """The candidates the entities at positions a and b make, as (head, tail) positions: both
    orders, or (`unordered`) the one whose head starts first in the sentence's tokens (then ends first)."""
    if scheme == "ordered":
        return (a, b), (b, a)
    first = entities[a].token_span <= entities[b].token_span
    return ((a, b),) if first else ((b, a),)


def sentence_candidates(entities: Sequence[Entity], scheme: PairScheme) -> list[tuple[int, int]]:
    """Every candidate of a sentence's entities: each ordered pair, head by head (the order sampled
    training has always seen), or each pair once as `candidate_pairs` orders it."""
    n = len(entities)
    if scheme == "ordered":
        return [(h, t) for h in range(n) for t in range(n) if h != t]
    return [candidate_pairs(entities, a, b, scheme)[0] for a in range(n) for b in range(a + 1, n)]
