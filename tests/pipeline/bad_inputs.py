"""A corpus of bad inputs, one class per record or file, each with the reason its dead letter must give.

Written by code (a damaged .gz cannot be kept as text); `write_corpus` returns the expectations:
(stage, source suffix or doc id, reason fragment). Good documents sit between the bad ones, so a
test also sees that they still come out.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

GOOD = "Anna Berg works for Acme Corp in Oslo."
GOOD_ENTITIES = [{"start": 0, "end": 9, "type": "person"}, {"start": 20, "end": 29, "type": "organisation"},
                 {"start": 33, "end": 37, "type": "location"}]


def good(doc_id: str, **extra) -> dict:
    return {"id": doc_id, "text": GOOD, "lang": "en", "entities": GOOD_ENTITIES, **extra}


def line(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


# (line bytes, reason fragment): read-stage dead letters of bad.jsonl, in line order
BAD_LINES: list[tuple[bytes, str]] = [
    (b"{this is not json", "unparseable JSON"),
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (line(["a", "list"]), "expected a JSON object"),
    (line({"id": "no-text"}), "missing or non-string 'text'"),
    (line({"id": "number-text", "text": 42}), "missing or non-string 'text'"),
    (line({"id": 7, "text": GOOD}), "'id' must be a non-empty string"),
    (line({"id": "", "text": GOOD}), "'id' must be a non-empty string"),
    (line({"id": "lang-number", "text": GOOD, "lang": 5}), "'lang' must be a string"),
    (line({"id": "meta-list", "text": GOOD, "meta": [1]}), "'meta' must be an object"),
    (line({"id": "entities-dict", "text": GOOD, "entities": {"start": 0}}), "'entities' must be a list"),
    (line({"id": "bool-span", "text": GOOD, "entities": [{"start": False, "end": True, "type": "person"}]}), "malformed entity"),
    (line({"id": "string-span", "text": GOOD, "entities": [{"start": "0", "end": 4, "type": "person"}]}), "malformed entity"),
    (line({"id": "no-type", "text": GOOD, "entities": [{"start": 0, "end": 4}]}), "malformed entity"),
    (b'{"id": "surrogate-text", "text": "Anna \\ud800 Berg"}', "lone surrogate"),
    (b'{"id": "surrogate-id-\\udfff", "text": "Anna Berg."}', "lone surrogate"),
    ('{"id": "latin1", "text": "Caf\xe9 Oslo."}'.encode("latin-1"), "not UTF-8"),
    (line({"id": "empty", "text": ""}), "empty text"),
    (line({"id": "blank", "text": " \n\t "}), "empty text"),
    (line({"id": "zero-width", "text": "\u200b\u200c\u200d\ufeff"}), "no visible characters"),
    (line({"id": "too-long", "text": "Oslo. " * 400}), "over --max-doc-chars"),
    (line({"id": "dup", "text": "Another text under a used id."}), "duplicate id 'dup'"),
]

# (document, entity-stage reason fragment): documents that are processed, with one bad span each
BAD_SPANS: list[tuple[dict, str]] = [
    (good("span-outside", entities=[*GOOD_ENTITIES, {"start": 30, "end": 90, "type": "person"}]), "lies outside the text"),
    (good("span-reversed", entities=[*GOOD_ENTITIES, {"start": 9, "end": 3, "type": "person"}]), "is reversed"),
    (good("span-empty", entities=[*GOOD_ENTITIES, {"start": 5, "end": 5, "type": "person"}]), "is empty (start equals end)"),
    (good("span-blank", entities=[*GOOD_ENTITIES, {"start": 9, "end": 10, "type": "person"}]), "covers only whitespace"),
    (good("type-empty", entities=[*GOOD_ENTITIES, {"start": 0, "end": 4, "type": "- _"}]), "is empty once spaces"),
    ({"id": "span-two-sentences", "lang": "en", "text": "Anna Berg left. Acme Corp stayed.",
      "entities": [{"start": 5, "end": 25, "type": "person"}]}, "not inside one sentence"),
]


def write_corpus(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Write the corpus under `root`; returns, per stage, (source or doc id, reason fragment) expected."""
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, list[tuple[str, str]]] = {"read": [], "entities": [], "sentences": []}
    lines = [line(good("dup"))]
    for number, (raw, reason) in enumerate(BAD_LINES, start=2):
        lines.append(raw)
        expected["read"].append((f"bad.jsonl:{number}", reason))
    lines.append(line(good("good-after-bad")))
    lines.append(line(good("two-types", entities=[*GOOD_ENTITIES, {"start": 0, "end": 9, "type": "politician"}])))
    for document, reason in BAD_SPANS:
        lines.append(line(document))
        expected["entities"].append((document["id"], reason))
    lines.append(line({"id": "klingon", "lang": "tlh", "text": "Qapla' batlh."}))
    expected["sentences"].append(("klingon", "unsupported language 'tlh'"))
    (root / "bad.jsonl").write_bytes(b"\n".join(lines) + b"\n")

    (root / "later.jsonl").write_bytes(line(good("dup", text="Same id in a second file.")) + b"\n")
    expected["read"].append(("later.jsonl:1", "duplicate id 'dup'"))

    deflate_damaged = bytearray(gzip.compress(b"\n".join(line(good(f"c{i}")) for i in range(5))))
    deflate_damaged[12:40] = b"\x00" * 28
    (root / "corrupt.jsonl.gz").write_bytes(bytes(deflate_damaged))
    expected["read"].append(("corrupt.jsonl.gz", "compressed data damaged"))

    whole = gzip.compress(b"\n".join(line(good(f"t{i}")) for i in range(50)) + b"\n")
    (root / "truncated.jsonl.gz").write_bytes(whole[: len(whole) * 2 // 3])
    expected["read"].append(("truncated.jsonl.gz", "cut off after"))

    (root / "utf16.jsonl").write_bytes(line(good("utf16")).decode().encode("utf-16"))
    expected["read"].append(("utf16.jsonl", "UTF-16"))
    (root / "notes.csv").write_text("id,text\n1,hello\n", encoding="utf-8")
    expected["read"].append(("notes.csv", "unsupported file type"))
    (root / "latin1.txt").write_bytes("Café in Oslo.".encode("latin-1"))
    expected["read"].append(("latin1.txt", "not UTF-8"))
    (root / "empty.txt").write_bytes(b"")
    expected["read"].append(("empty.txt", "empty text"))
    (root / "invisible.txt").write_text("\u200b\u2060\u00ad", encoding="utf-8")
    expected["read"].append(("invisible.txt", "no visible characters"))
    (root / "good.txt").write_text("Oslo is a city.", encoding="utf-8")
    return expected


def classes() -> int:
    """How many classes of bad input the corpus holds."""
    return len(BAD_LINES) + len(BAD_SPANS) + 1 + 9  # the unsupported language, the nine bad files
