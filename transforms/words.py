"""The words the relation model reads for a sentence's tokens.

For Chinese and Japanese the sentence splitter makes every Han/Kana character a token, so entity
spans from any source land on whole tokens. The encoder was pre-trained on running text, though,
and reads real words better (measured in `benchmarks/cjk_words.py`). So just before a pair is
encoded, touching CJK characters are joined into the words of a dictionary segmenter — jieba
for Chinese, Janome for Japanese, both shipping their dictionaries, so nothing is downloaded —
and cut at both entities' boundaries, so the markers still wrap exactly the entity's characters.
Other languages' tokens are read as they are.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Container
from functools import cache, lru_cache

from polyrel.schemas.records import Sentence, Token
from polyrel.scripts import CJK_CHARACTER
from polyrel.transforms.segment import base_language

Spans = list[tuple[int, int]]
_LOCK = threading.Lock()  # segmenters load lazily and are not documented as thread-safe


def _jieba() -> Callable[[str], list[str]]:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at INFO
    tokenizer = jieba.Tokenizer()
    return lambda text: tokenizer.lcut(text, HMM=True)


def _janome() -> Callable[[str], list[str]]:
    from janome.tokenizer import Tokenizer

    tokenizer = Tokenizer(wakati=True)
    return lambda text: [str(word) for word in tokenizer.tokenize(text)]  # wakati: already strings


SEGMENTERS: dict[str, Callable[[], Callable[[str], list[str]]]] = {"zh": _jieba, "ja": _janome}


@cache
def _segmenter(lang: str) -> Callable[[str], list[str]]:
    return SEGMENTERS[lang]()


@lru_cache(maxsize=4096)
def word_starts(text: str, lang: str) -> frozenset[int] | None:
    """Offsets in `text` where the language's segmenter starts a word; None: no segmenter.
    Cached because every pair of a sentence asks for the same sentence."""
    base = base_language(lang)
    if base not in SEGMENTERS:
        return None
    with _LOCK:
        words = _segmenter(base)(text)
    starts, position = set(), 0
    for word in words:
        found = text.find(word, position)
        if found < 0:  # a segmenter that normalises its output: keep the boundaries found so far
            break
        starts.add(found)
        position = found + len(word)
    return frozenset(starts)


def join_words(tokens: tuple[Token, ...], spans: Spans, boundaries: Container[int] | None) -> tuple[tuple[str, ...], Spans]:
    """Touching Han/Kana character tokens joined into words, cut at every token offset in
    `boundaries` (None: no cuts besides the spans) and at both ends of every token span in `spans`
    (`[start, end)`); returns the words and the spans as word spans."""
    cuts = {tokens[i].start for span in spans for i in span if i < len(tokens)}
    words: list[str] = []
    word_of: list[int] = []
    for i, token in enumerate(tokens):
        previous = tokens[i - 1] if i else None
        if (previous is not None and previous.end == token.start and token.start not in cuts
                and (boundaries is None or token.start not in boundaries)
                and CJK_CHARACTER.fullmatch(token.text) and CJK_CHARACTER.fullmatch(previous.text)):
            words[-1] += token.text
        else:
            words.append(token.text)
        word_of.append(len(words) - 1)
    return tuple(words), [(word_of[start], word_of[end - 1] + 1) for start, end in spans]


def model_words(sentence: Sentence, spans: Spans) -> tuple[tuple[str, ...], Spans]:
    """The words of `sentence` for the relation model, and the token `spans` as word spans."""
    starts = word_starts(sentence.text, sentence.lang)
    if starts is None:
        return tuple(t.text for t in sentence.tokens), spans
    return join_words(sentence.tokens, spans, {sentence.start + s for s in starts})
