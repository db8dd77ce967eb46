"""The embedded sentence splitter and word tokenizer: no model, no download, offsets kept.

Used for any language whose stanza models are not installed. Rules, by script:
- Latin, Cyrillic, Greek, Arabic, Hangul: a sentence ends at `. ! ? …` (Arabic `؟ ۔`, Greek
  `;`/`;` for `el`) plus closing quotes/brackets, followed by whitespace and a character that
  is not lower case; a period after a known abbreviation or a single letter does not end one.
- Han, Hiragana, Katakana: a sentence ends after `。！？` (plus closers), no space needed,
  unless a quotative particle or comma follows (`「本当？」と聞いた。` is one sentence);
  every Han/Kana character is its own token, so an entity span always aligns with tokens (the
  relation stage regroups them into dictionary words itself: transforms/words.py).
- A blank line always ends a sentence.
Tokens are words (letters, marks and digits, with inner apostrophes or hyphens), numbers
(with inner `.`/`,`), or single other characters; whitespace is never a token.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

import regex

from polyrel.schemas.records import Token
from polyrel.scripts import CJK

TOKEN = regex.compile(
    rf"[{CJK}]"  # one token per Han/Kana character
    r"|\p{N}+(?:[.,]\p{N}+)*"  # numbers: 1,000.5
    rf"|[[\p{{L}}\p{{M}}\p{{N}}]--[{CJK}]]+(?:['’\-][[\p{{L}}\p{{M}}\p{{N}}]--[{CJK}]]+)*"  # words
    r"|\S",  # any other single character
    regex.V1,
)
CLOSERS = "\"'”’»)]」』）】"
SPACED_END = regex.compile(rf"[.!?…؟۔]+[{regex.escape(CLOSERS)}]*(?=\s)")
GREEK_END = regex.compile(rf"[;;]+[{regex.escape(CLOSERS)}]*(?=\s)")
CJK_END = regex.compile(rf"[。！？]+[{regex.escape(CLOSERS)}]*")
CJK_CONTINUE = frozenset("とっ、，,")
PARAGRAPH = regex.compile(r"\n\s*\n")
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs etc inc ltd co corp no nr mt gen col sen rep gov jan feb mar apr jun jul"
    " aug sep sept oct nov dec e.g i.e z.b bzw ca usw hr fr dres sra sr srta av u.a d.h vgl т.е г гг им др"
    " и.о κ κα".split()
)

# Scripts the rules above handle, and the languages written in them that the splitter accepts.
SCRIPTS = ("Latin", "Cyrillic", "Greek", "Arabic", "Han", "Hiragana", "Katakana", "Hangul")
LANGUAGES = frozenset(
    "en de fr es it pt nl sv da no nb nn fi et lv lt pl cs sk sl hr bs sr hu ro ca gl eu ga cy is mt sq tr az"
    " id ms tl vi sw af la eo ru uk be bg mk kk ky mn el ar fa ur ps zh ja ko".split()
)


def script_of(char: str) -> str | None:
    """The script of a letter, from its Unicode name (CJK UNIFIED IDEOGRAPH → Han), or None."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if name.startswith("CJK"):
        return "Han"
    first = name.split(" ", 1)[0].capitalize()
    return first if first in SCRIPTS else "Other"


def dominant_script(text: str) -> str | None:
    scripts = Counter(s for s in map(script_of, text) if s is not None)
    return scripts.most_common(1)[0][0] if scripts else None


def guess_language(text: str) -> str:
    """A language tag where the script alone decides it (kana → ja, Han → zh, …), else `und`."""
    scripts = {s for s in map(script_of, text) if s is not None}
    if scripts & {"Hiragana", "Katakana"}:
        return "ja"
    if "Hangul" in scripts:
        return "ko"
    if "Han" in scripts:
        return "zh"
    if scripts == {"Greek"} or dominant_script(text) == "Greek":
        return "el"
    return "und"


def base_language(lang: str) -> str:
    """`zh-Hans` → `zh`, `ja_JP` → `ja`."""
    return lang.split("-")[0].split("_")[0].lower()


def unsupported_reason(text: str, lang: str) -> str | None:
    """Why the embedded splitter cannot handle this document, or None when it can."""
    base = base_language(lang)
    if base != "und" and base not in LANGUAGES:
        return f"unsupported language {lang!r} (no stanza model installed, and not one the embedded splitter handles)"
    script = dominant_script(text)
    if script == "Other":
        return f"unsupported script in a document tagged {lang!r} (embedded splitter handles {', '.join(SCRIPTS)})"
    return None


def _is_abbreviation(text: str, period: int) -> bool:
    word = regex.search(r"[\p{L}.]+$", text[:period])
    if word is None:
        return False
    w = word.group().lower().rstrip(".")
    return len(w) == 1 or w in ABBREVIATIONS


def _boundaries(text: str, lang: str) -> Iterator[int]:
    """Character offsets just after each sentence end."""
    for match in SPACED_END.finditer(text):
        following = text[match.end():].lstrip()
        if following and following[0].islower():
            continue
        if match.group().startswith(".") and len(match.group().rstrip(CLOSERS)) == 1 and _is_abbreviation(text, match.start()):
            continue
        yield match.end()
    if lang.startswith("el"):
        yield from (m.end() for m in GREEK_END.finditer(text))
    # a quoted question or exclamation is part of the sentence when a particle or comma follows
    yield from (m.end() for m in CJK_END.finditer(text) if text[m.end():m.end() + 1] not in CJK_CONTINUE)
    yield from (m.start() for m in PARAGRAPH.finditer(text))


def split_sentences(text: str, lang: str = "und") -> list[tuple[int, int]]:
    """Sentence character spans `[start, end)`, whitespace trimmed, in order."""
    cuts = sorted({0, *_boundaries(text, lang), len(text)})
    spans = []
    for start, end in pairwise(cuts):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans


def tokenize(text: str, start: int = 0, end: int | None = None) -> tuple[Token, ...]:
    """Tokens of `text[start:end]` with offsets into `text`."""
    end = len(text) if end is None else end
    return tuple(Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text, start, end))


def token_span(tokens: tuple[Token, ...], start: int, end: int) -> tuple[int, int] | None:
    """The tokens `[i, j)` that characters `[start, end)` touch, or None when they touch none:
    entity offsets from any source land on whole tokens, so spans and markers always align."""
    covered = [i for i, t in enumerate(tokens) if t.start < end and t.end > start]
    return (covered[0], covered[-1] + 1) if covered else None
