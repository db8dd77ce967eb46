"""From (sentence, head, tail) to encoder input ids with the marker positions, windowed to fit.

Words are sub-tokenised once per sentence and reused for every pair in it (a sentence with n
entities yields n·(n-1) pairs). A pair whose marked entities alone exceed the encoder's
maximum length cannot be encoded faithfully; it comes back as `Unfit` with the reason, and
callers count it rather than cutting an entity silently.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import torch
from transformers import PreTrainedTokenizerBase

from polyrel.model.backbone import token_ids
from polyrel.model.choices import WORD_JOININGS, WordJoining
from polyrel.model.markers import MarkerInventory, insert_markers
from polyrel.schemas.records import Entity
from polyrel.scripts import UNSPACED_CHARACTER

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
        missing = [m for m in markers.tokens if m not in tokenizer.get_vocab()]
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


def length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, so padding stays small."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
