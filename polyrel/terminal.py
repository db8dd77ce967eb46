"""Text bound for a terminal: data from documents is escaped, never interpreted.

Entity text comes from user documents; a control character in it (an ANSI escape, a carriage
return, a bidirectional override) printed raw could rewrite what the terminal shows.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """`text` with control characters and bidirectional controls as visible escapes (\\x1b, \\u202e)."""
    return "".join(
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        if unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS else c
        for c in text
    )
