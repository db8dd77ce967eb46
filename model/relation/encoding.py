"""From (sentence, head, tail) to encoder input ids with the marker positions, windowed to fit.

Words are sub-tokenised once per sentence and reused for every pair in it (a sentence with n
entities yields n·(n-1) pairs). A pair whose marked entities alone exceed the encoder's
maximum length cannot be encoded faithfully; it comes back as `Unfit` with the reason, and
callers count it rather than cutting an entity silently.

Entity markers: which marker tokens wrap the head and tail, and where they go.

`um` (uniform markers, Soares et al. 2019) wraps the head in `[E1] … [/E1]` and the tail in
`[E2] … [/E2]`. `etm` (entity type markers, the paper's scheme) wraps each entity in its type,
the same token on both sides: `[GPE] New York City [GPE]`; direction then comes from the
order in which the pooled head and tail vectors are concatenated. A type unseen in training
gets the generic `[ENTITY]` marker and is counted, so inference never fails on a new type.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import torch
from transformers import PreTrainedTokenizerBase

from polyrel.model.choices import MARKER_SCHEMES, WORD_JOININGS, WordJoining
from polyrel.model.encoders.backbone import token_ids
from polyrel.schemas.records import Entity
from polyrel.scripts import UNSPACED_CHARACTER

MarkerScheme = Literal["um", "etm"]
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


WORD_START = "▁"  # SentencePiece's word-start piece (XLM-R, e5, mT5, mDeBERTa)


def pieces_by_word(ids: list[int], word_ids: list[int | None], n_words: int) -> list[list[int]]:
    """One tokenizer call's sub-token ids grouped by the word each came from (special tokens dropped)."""
    pieces: list[list[int]] = [[] for _ in range(n_words)]
    for token_id, word_id in zip(ids, word_ids):
        if word_id is not None:
            pieces[word_id].append(token_id)
    return pieces


def written_together(previous: str, word: str) -> bool:
    """Whether running text has no space between two words: both touch in an unspaced script (Han, kana, Thai, …)."""
    return bool(previous and word and UNSPACED_CHARACTER.match(previous[-1]) and UNSPACED_CHARACTER.match(word[0]))


class AsWritten:
    """Takes the word-start piece off each word written flush against the previous one.

    Word-by-word sub-tokenisation gives every word SentencePiece's "▁" as if spaces separated
    the words; Chinese, Japanese or Thai text has none, and the encoder was pretrained on it so.
    A lone "▁" is dropped and "▁深" becomes "深" where the vocabulary has it. Tokenizers without
    a word-start piece (WordPiece) are left as they are.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.tokenizer = tokenizer
        self.word_start = tokenizer.get_vocab().get(WORD_START)

    def __call__(self, words: Sequence[str], pieces: list[list[int]]) -> list[list[int]]:
        if self.word_start is None:
            return pieces
        return [self._unstarted(ids) if i and written_together(words[i - 1], words[i]) else ids
                for i, ids in enumerate(pieces)]

    def _unstarted(self, ids: list[int]) -> list[int]:
        if len(ids) > 1 and ids[0] == self.word_start:
            return ids[1:]
        first = cast(str, self.tokenizer.convert_ids_to_tokens(ids[0])) if ids else ""
        if first.startswith(WORD_START) and len(first) > 1:
            bare = cast(int, self.tokenizer.convert_tokens_to_ids(first[1:]))
            if bare != self.tokenizer.unk_token_id:
                return [bare, *ids[1:]]
        return ids


@dataclass(frozen=True)
class EncodedPair:
    """Input ids plus inclusive (start marker, end marker) positions of head and tail."""

    input_ids: tuple[int, ...]
    head_span: tuple[int, int]
    tail_span: tuple[int, int]
    head_type: int
    tail_type: int


@dataclass(frozen=True)
class Unfit:
    reason: str


def window(length: int, lo: int, hi: int, budget: int) -> tuple[int, int] | None:
    """The `[start, end)` window of at most `budget` positions holding `[lo, hi]`, centred on it.

    None when `[lo, hi]` alone is longer than the budget.
    """
    need = hi - lo + 1
    if need > budget:
        return None
    if length <= budget:
        return 0, length
    extra = budget - need
    left = min(lo, extra // 2)
    right = min(length - 1 - hi, extra - left)
    left = min(lo, extra - right)
    return lo - left, hi + right + 1


class PairEncoder:
    """Encodes entity pairs for one tokenizer, marker inventory and maximum length.

    Words are sub-tokenised one by one, so entity markers fall between words. `word_joining`
    "as_written" reads words written flush together without word-start pieces (`AsWritten`;
    "spaced", how earlier models were trained, gives Chinese and Japanese pairs about a third more
    sub-tokens, many of them lone "▁" pieces; `benchmarks/cjk_joining.py`).
    """

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, markers: MarkerInventory, max_length: int,
        cache_size: int = 4096, word_joining: WordJoining = "spaced",
    ) -> None:
        if word_joining not in WORD_JOININGS:
            raise ValueError(f"unknown word_joining {word_joining!r}; choose from {WORD_JOININGS}")
        self.tokenizer = tokenizer
        self.markers = markers
        self.max_length = max_length
        self.word_joining = word_joining
        self._as_written = AsWritten(tokenizer) if word_joining == "as_written" else None
        vocab = tokenizer.get_vocab()  # a fresh dict of the whole vocabulary on every call
        missing = [m for m in markers.tokens if m not in vocab]
        if missing:
            raise ValueError(f"tokenizer lacks marker tokens {missing[:5]}; add them before encoding")
        self._marker_ids = dict(zip(markers.tokens, token_ids(tokenizer, markers.tokens)))
        self._type_ids = {t: i + 1 for i, t in enumerate(markers.entity_types)}  # 0 = unseen
        probe = markers.tokens[0]  # a special token encodes to one id: what surrounds it is the wrapping
        wrapped = tokenizer(probe, add_special_tokens=True)["input_ids"]
        at = wrapped.index(self._marker_ids[probe])
        self._prefix, self._suffix = wrapped[:at], wrapped[at + 1:]
        self._budget = max_length - len(self._prefix) - len(self._suffix)
        self._words: OrderedDict[tuple[str, ...], list[list[int]]] = OrderedDict()
        self._cache_size = cache_size

    def word_pieces(self, words: tuple[str, ...]) -> list[list[int]]:
        """Sub-token ids of each word (LRU-cached per sentence)."""
        cached = self._words.get(words)
        if cached is not None:
            self._words.move_to_end(words)
            return cached
        encoding = self.tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
        pieces = pieces_by_word(encoding["input_ids"], encoding.word_ids(), len(words))
        if self._as_written is not None:
            pieces = self._as_written(words, pieces)
        self._words[words] = pieces
        if len(self._words) > self._cache_size:
            self._words.popitem(last=False)
        return pieces

    def encode(self, words: tuple[str, ...], head: Entity, tail: Entity) -> EncodedPair | Unfit:
        pieces = self.word_pieces(words)
        marked = insert_markers(
            len(words), head, tail,
            self.markers.pair("head", head.type), self.markers.pair("tail", tail.type),
        )
        content: list[int] = []
        at: list[int] = []  # content position of each marked item
        for item in marked.items:
            at.append(len(content))
            if isinstance(item, str):
                content.append(self._marker_ids[item])
            else:
                content.extend(pieces[item])
        positions = [at[marked.head_start], at[marked.head_end], at[marked.tail_start], at[marked.tail_end]]
        span = window(len(content), min(positions), max(positions), self._budget)
        if span is None:
            return Unfit(
                f"head and tail with markers span {max(positions) - min(positions) + 1} sub-tokens,"
                f" more than the {self._budget} that fit in max_length {self.max_length}"
            )
        offset = len(self._prefix) - span[0]
        hs, he, ts, te = (p + offset for p in positions)
        return EncodedPair(
            input_ids=tuple(self._prefix + content[span[0]: span[1]] + self._suffix),
            head_span=(hs, he),
            tail_span=(ts, te),
            head_type=self._type_ids.get(head.type, 0),
            tail_type=self._type_ids.get(tail.type, 0),
        )


def collate(pairs: Sequence[EncodedPair], pad_id: int, share: bool = True) -> dict[str, torch.Tensor]:
    """Right-padded tensors for a batch; `rows` maps each pair to the input row it reads, whose
    positions its spans index unchanged.

    With `share`, pairs with identical input ids read one row: under type markers a pair and its
    mirror are the same marked sentence, so the encoder runs once for both (see
    `RelationModel.summaries`). Without it every pair has its own row (and, in training, its own
    dropout mask), as models trained before sharing existed saw their batches.
    """
    if share:
        index: dict[tuple[int, ...], int] = {}
        rows = [index.setdefault(p.input_ids, len(index)) for p in pairs]
        sequences = list(index)
    else:
        rows, sequences = list(range(len(pairs))), [p.input_ids for p in pairs]
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        input_ids[row, : len(sequence)] = torch.tensor(sequence)
        attention_mask[row, : len(sequence)] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "rows": torch.tensor(rows),
        "head_span": torch.tensor([p.head_span for p in pairs]),
        "tail_span": torch.tensor([p.tail_span for p in pairs]),
        "head_type": torch.tensor([p.head_type for p in pairs]),
        "tail_type": torch.tensor([p.tail_type for p in pairs]),
    }
