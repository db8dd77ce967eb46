"""Unicode script classes shared by the sentence splitter, the NER decoder and the relation encoder.

`CJK`: Han and kana (with the prolonged-sound mark and the iteration mark), written without
spaces and tokenized one character per token. `UNSPACED`: every script written without spaces
between words (CJK, Thai, Lao, Khmer, Myanmar) and CJK punctuation and fullwidth forms.
Both are character-class bodies for the `regex` module (Unicode script properties).
"""

from __future__ import annotations

import regex

CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\u30FC\u3005"
UNSPACED = rf"{CJK}\p{{Thai}}\p{{Lao}}\p{{Khmer}}\p{{Myanmar}}\u3000-\u303F\uFF00-\uFFEF"
CJK_CHARACTER = regex.compile(rf"[{CJK}]")
UNSPACED_CHARACTER = regex.compile(rf"[{UNSPACED}]")
