"""Entity marker schemes: which marker tokens wrap the head and tail, and where they go.

`um` (uniform markers, Soares et al. 2019) wraps the head in `[E1] … [/E1]` and the tail in
`[E2] … [/E2]`. `etm` (entity type markers, the paper's scheme) wraps each entity in its type,
the same token on both sides: `[GPE] New York City [GPE]`; direction then comes from the
order in which the pooled head and tail vectors are concatenated. A type unseen in training
gets the generic `[ENTITY]` marker and is counted, so inference never fails on a new type.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from polyrel.schemas.records import Entity

MarkerScheme = Literal["um", "etm"]
MARKER_SCHEMES: tuple[str, ...] = ("um", "etm")
GENERIC_MARKER = "[ENTITY]"
UM_MARKERS = {"head": ("[E1]", "[/E1]"), "tail": ("[E2]", "[/E2]")}


def type_marker(entity_type: str) -> str:
    return f"[{entity_type.upper()}]"


@dataclass
class MarkerInventory:
    """The marker tokens of one scheme over one entity-type inventory (saved with the model)."""

    scheme: MarkerScheme
    entity_types: tuple[str, ...]
    unseen_types: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.scheme not in MARKER_SCHEMES:
            raise ValueError(f"unknown marker scheme {self.scheme!r}; choose from {MARKER_SCHEMES}")
        self._known = frozenset(self.entity_types)

    @property
    def tokens(self) -> list[str]:
        """Every marker token, in a fixed order, to add to the tokenizer as special tokens."""
        if self.scheme == "um":
            return [m for pair in UM_MARKERS.values() for m in pair]
        return [type_marker(t) for t in self.entity_types] + [GENERIC_MARKER]

    def seed_words(self) -> dict[str, str]:
        """Words whose embeddings initialise each marker row, so markers start meaningful."""
        if self.scheme == "um":
            return {m: role for role, pair in UM_MARKERS.items() for m in pair}
        words = {type_marker(t): t for t in self.entity_types}
        words[GENERIC_MARKER] = "entity"
        return words

    def pair(self, role: Literal["head", "tail"], entity_type: str) -> tuple[str, str]:
        """(start marker, end marker) of an entity in the given role."""
        if self.scheme == "um":
            return UM_MARKERS[role]
        if entity_type not in self._known:
            self.unseen_types[entity_type] += 1
            return GENERIC_MARKER, GENERIC_MARKER
        marker = type_marker(entity_type)
        return marker, marker


Item = int | str  # a word index of the sentence, or a marker token


@dataclass(frozen=True)
class MarkedSequence:
    """Words and markers in order, with the positions of the four markers."""

    items: tuple[Item, ...]
    head_start: int
    head_end: int
    tail_start: int
    tail_end: int


def insert_markers(
    n_words: int, head: Entity, tail: Entity,
    head_markers: tuple[str, str], tail_markers: tuple[str, str],
) -> MarkedSequence:
    """Interleave markers with word indices, keeping spans properly bracketed.

    At a boundary, entities that end there close before those that start there open
    (adjacent spans stay separate); among those opening together the longer opens first and
    the head before the tail, and entities close in the reverse order of opening, so nested
    and identical spans nest. Crossing spans keep each marker at its own entity's boundary.
    """
    entities = {"head": (head.token_span, head_markers), "tail": (tail.token_span, tail_markers)}
    for role, ((start, end), _) in entities.items():
        if not 0 <= start < end <= n_words:
            raise ValueError(f"{role} span [{start}, {end}) out of range for {n_words} words")
    opening = sorted(entities, key=lambda r: (entities[r][0][0], -entities[r][0][1], r != "head"))
    items: list[Item] = []
    position: dict[str, int] = {}
    opened: list[str] = []
    for boundary in range(n_words + 1):
        for role in reversed(list(opened)):
            if entities[role][0][1] == boundary:
                position[f"{role}_end"] = len(items)
                items.append(entities[role][1][1])
                opened.remove(role)
        for role in opening:
            if entities[role][0][0] == boundary:
                position[f"{role}_start"] = len(items)
                items.append(entities[role][1][0])
                opened.append(role)
        if boundary < n_words:
            items.append(boundary)
    return MarkedSequence(tuple(items), **position)
