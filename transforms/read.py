"""Stage 1: input files to `Document`s.

Inputs are local paths, globs, directories or any fsspec URL (gs://, s3://, memory://…).
`.jsonl`/`.json`/`.ndjson` files hold one document object per line, `.txt` files are one
document each (id = the file's URL); either may be gzip-compressed (detected by magic bytes).
The file list is expanded inside the pipeline (Create → FlatMap) rather than by a Beam
source, so the same graph runs on runners without custom-source support (DaskRunner).
Every line that cannot become a document is a dead letter; the run goes on.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam
import fsspec

from polyrel.schemas.records import CharSpan, DeadLetter, Document
from polyrel.transforms.deadletters import count, dead_letter, split_dead_letters

STAGE = "read"
JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
TEXT_SUFFIXES = (".txt",)
RAW_LIMIT = 10_000  # characters of an offending record kept in errors/


def truncate(raw: str) -> str:
    return raw if len(raw) <= RAW_LIMIT else raw[:RAW_LIMIT] + "…[truncated]"


def _kind(url: str) -> str | None:
    name = url.lower().removesuffix(".gz")
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    return None


def expand_input(pattern: str) -> Iterator[str | DeadLetter]:
    """The readable files a path, glob, directory or URL names, as URLs, sorted."""
    fs, path = fsspec.core.url_to_fs(pattern)
    if any(c in path for c in "*?["):
        paths = fs.glob(path)
    elif fs.isdir(path):
        paths = [p for p in fs.find(path) if _kind(p)]
    elif fs.exists(path):
        paths = [path]
    else:
        paths = []
    files = sorted(p for p in paths if not fs.isdir(p))
    if not files:
        yield dead_letter(DeadLetter(None, STAGE, f"no input files match {pattern!r}", source=pattern))
    for p in files:
        yield fs.unstrip_protocol(p) if "://" in pattern else p


def _read_bytes(url: str) -> bytes:
    with fsspec.open(url, "rb") as handle:
        data = handle.read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _entities(value: Any) -> tuple[CharSpan, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("'entities' must be a list of {start, end, type} objects")
    spans = []
    for e in value:
        if not (isinstance(e, dict) and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
                and isinstance(e.get("type"), str) and e["type"]):
            raise ValueError(f"malformed entity {e!r}: needs integer 'start', 'end' and a 'type' string")
        spans.append(CharSpan(e["start"], e["end"], e["type"]))
    return tuple(spans)


def parse_document(record: Any, fallback_id: str) -> Document:
    """A JSONL object as a `Document`; ValueError says what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError("missing or non-string 'text'")
    doc_id = record.get("id", fallback_id)
    if not isinstance(doc_id, (str, int)) or doc_id == "":
        raise ValueError(f"'id' must be a non-empty string, got {doc_id!r}")
    lang = record.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise ValueError(f"'lang' must be a string, got {lang!r}")
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise ValueError("'meta' must be an object")
    return Document(str(doc_id), text, lang or None, meta, _entities(record.get("entities")))


class ReadFile(beam.DoFn):
    """One file → its documents, or dead letters for lines and files it cannot read."""

    def __init__(self, max_doc_chars: int) -> None:
        self.max_doc_chars = max_doc_chars

    def process(self, url: str) -> Iterator[Document | DeadLetter]:
        kind = _kind(url)
        if kind is None:
            yield dead_letter(DeadLetter(None, STAGE, "unsupported file type (expected .jsonl, .json, .ndjson or"
                                         " .txt, optionally .gz)", source=url))
            return
        try:
            data = _read_bytes(url)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            yield dead_letter(DeadLetter(None, STAGE, f"cannot read file: {exc}", source=url))
            return
        if kind == "text":
            yield from self._text(url, data)
        else:
            for number, line in enumerate(data.splitlines(), start=1):
                if line.strip():
                    yield from self._line(url, number, line)

    def _text(self, url: str, data: bytes) -> Iterator[Document | DeadLetter]:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            yield dead_letter(DeadLetter(url, STAGE, f"not UTF-8: {exc}", truncate(repr(data[:RAW_LIMIT])), url))
            return
        yield from self._checked(Document(url, text), text, url)

    def _line(self, url: str, number: int, line: bytes) -> Iterator[Document | DeadLetter]:
        source = f"{url}:{number}"
        try:
            raw = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield dead_letter(DeadLetter(None, STAGE, f"not UTF-8: {exc}", truncate(repr(line)), source))
            return
        try:
            document = parse_document(json.loads(raw), fallback_id=source)
        except json.JSONDecodeError as exc:
            yield dead_letter(DeadLetter(None, STAGE, f"unparseable JSON: {exc}", truncate(raw), source))
            return
        except ValueError as exc:
            yield dead_letter(DeadLetter(None, STAGE, str(exc), truncate(raw), source))
            return
        yield from self._checked(document, raw, source)

    def _checked(self, document: Document, raw: str, source: str) -> Iterator[Document | DeadLetter]:
        if not document.text.strip():
            yield dead_letter(DeadLetter(document.id, STAGE, "empty text", truncate(raw), source))
        elif len(document.text) > self.max_doc_chars:
            yield dead_letter(DeadLetter(
                document.id, STAGE,
                f"document has {len(document.text)} characters, over --max-doc-chars {self.max_doc_chars}",
                truncate(raw), source))
        else:
            count("documents")
            yield document


class ReadDocuments(beam.PTransform):
    """Input patterns → (documents, dead letters)."""

    def __init__(self, inputs: Sequence[str], max_doc_chars: int) -> None:
        super().__init__()
        self.inputs = list(inputs)
        self.max_doc_chars = max_doc_chars

    def expand(self, pbegin: beam.pvalue.PBegin) -> tuple[beam.PCollection, beam.PCollection]:
        files, bad_patterns = split_dead_letters(
            pbegin | "Patterns" >> beam.Create(self.inputs) | "Expand" >> beam.FlatMap(expand_input), "ReadMatch")
        records = (
            files
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadFiles" >> beam.ParDo(ReadFile(self.max_doc_chars))
        )
        documents, bad_records = split_dead_letters(records, "ReadFiles")
        return documents, (bad_patterns, bad_records) | "Errors" >> beam.Flatten()
