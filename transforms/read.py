"""Stage 1: input files to `Document`s.

Inputs are local paths, globs, directories or any fsspec URL (gs://, s3://, memory://…).
`.jsonl`/`.json`/`.ndjson` files hold one document object per line, `.txt` files are one
document each (id = the file's path relative to the input root); either may be gzip-compressed
(detected by magic bytes). The patterns are listed at launch and the job starts from a Create of
the files rather than a Beam source, so the same graph runs on runners without custom-source
support (DaskRunner), each file one element a runner can give any worker. Every record that
cannot become a document is a dead letter with its reason and the run goes on: records read =
documents + read dead letters. Ids are strings and unique: a second document with an id already
used is a dead letter, never merged.
"""

from __future__ import annotations

import json
import unicodedata
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import fsspec

from polyrel.schemas.records import DeadLetter, Document, Entity, FileCount
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


@dataclass(frozen=True)
class InputFile:
    """A file to read, and the name documents from it are known by: its path relative to the input
    root given (a directory, a glob's folder, a file's folder), or the URL as given for remote
    inputs, so ids from `.txt` files and line positions do not change when the corpus moves."""

    url: str
    name: str


def expand_input(pattern: str) -> Iterator[InputFile | DeadLetter | FileCount]:
    """The files a path, glob, directory or URL names, sorted; every file of a directory except
    hidden ones, so a file polyrel cannot read is a dead letter, never skipped in silence. A pattern
    that names no file is one record: a dead letter."""
    fs, path = fsspec.core.url_to_fs(pattern)
    remote = "://" in pattern
    if any(c in path for c in "*?["):
        root = path[: min(path.index(c) for c in "*?[" if c in path)].rpartition("/")[0]
        paths = fs.glob(path)
    elif fs.isdir(path):
        root = path.rstrip("/")
        paths = [p for p in fs.find(path) if not any(part.startswith(".") for part in p[len(root):].split("/"))]
    elif fs.exists(path):
        root = path.rpartition("/")[0]
        paths = [path]
    else:
        root, paths = "", []
    files = sorted(p for p in paths if not fs.isdir(p))
    if not files:
        yield FileCount(pattern, records=1)
        yield DeadLetter(None, STAGE, f"no input files match {pattern!r}", source=pattern)
    for p in files:
        url = fs.unstrip_protocol(p) if remote else p
        yield InputFile(url, url if remote else p[len(root):].lstrip("/") if root else p)


def input_size(listed: Sequence[InputFile | DeadLetter | FileCount]) -> int:
    """Bytes of the listed files, as stored, for sizing the job at launch."""
    total = 0
    for found in listed:
        if isinstance(found, InputFile):
            fs, path = fsspec.core.url_to_fs(found.url)
            total += fs.size(path) or 0
    return total


def _count_match(element: InputFile | DeadLetter | FileCount) -> InputFile | DeadLetter | FileCount:
    """Counts, inside the job, what listing found at launch: a pattern without files is one record, a dead letter."""
    if isinstance(element, FileCount):
        count("records", element.records)
    elif isinstance(element, DeadLetter):
        dead_letter(element)
    return element


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _read_bytes(url: str) -> tuple[bytes, bool, str | None]:
    """The file's bytes, gunzipped when gzip (by magic bytes), whether it was, and what went wrong:
    a damaged or cut-off .gz yields what decompressed before the damage, its last partial line dropped."""
    with fsspec.open(url, "rb") as handle:
        data = handle.read()
    if data[:2] != b"\x1f\x8b":
        return data, False, None
    out, problem = _gunzip(data)
    if problem is None:
        return out, True, None
    complete = out[: out.rfind(b"\n") + 1]
    what, detail = problem
    lines = complete.count(b"\n")
    return complete, True, f"compressed data {what} after {lines} complete lines ({detail}); the lines before were read"


def _gunzip(data: bytes, chunk: int = 4096) -> tuple[bytes, tuple[str, str] | None]:
    """Decompress gzip members in small steps, keeping everything decompressed before any damage."""
    out = bytearray()
    stream = zlib.decompressobj(wbits=31)
    rest = data
    while rest:
        piece, rest = rest[:chunk], rest[chunk:]
        try:
            out += stream.decompress(piece)
        except zlib.error as exc:
            return bytes(out), ("damaged", str(exc))
        if stream.eof:  # a member ended: another may follow (concatenated .gz files)
            rest = stream.unused_data + rest
            if not rest.strip(b"\x00"):
                return bytes(out), None
            stream = zlib.decompressobj(wbits=31)
    return bytes(out), None if stream.eof else ("cut off", "the file ends inside the compressed stream")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entities(value: Any) -> tuple[Entity, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("'entities' must be a list of {start, end, type} objects")
    spans = []
    for e in value:
        if not (isinstance(e, dict) and _is_int(e.get("start")) and _is_int(e.get("end"))
                and isinstance(e.get("type"), str) and e["type"]):
            raise ValueError(f"malformed entity {e!r}: needs integer 'start', 'end' and a 'type' string")
        spans.append(Entity(e["start"], e["end"], e["type"]))
    return tuple(spans)


def parse_document(record: Any, fallback_id: str, source: str = "") -> Document:
    """A JSONL object as a `Document`; ValueError says what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError("missing or non-string 'text'")
    doc_id = record.get("id", fallback_id)
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise ValueError(f"'id' must be a non-empty string, got {doc_id!r} (ids are strings: 7 and \"7\" would collide)")
    lang = record.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise ValueError(f"'lang' must be a string, got {lang!r}")
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise ValueError("'meta' must be an object")
    return Document(doc_id, text, lang or None, meta, _entities(record.get("entities")), source)


def _readable_id(record: Any) -> str | None:
    """The record's id where one can be read, for the dead letter of a record that fails otherwise."""
    doc_id = record.get("id") if isinstance(record, dict) else None
    return doc_id if isinstance(doc_id, str) and doc_id.strip() and not _invalid_unicode(doc_id) else None


def _invalid_unicode(value: str) -> str | None:
    """Why a decoded string is not valid Unicode text (a lone surrogate from a JSON escape), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"not valid Unicode: lone surrogate {value[exc.start]!r} at character {exc.start} (a broken \\u escape)"
    return None


VISIBLE_CATEGORIES = ("L", "M", "N", "P", "S")  # letters, marks, numbers, punctuation, symbols


def _has_visible_text(text: str) -> bool:
    return any(unicodedata.category(c)[0] in VISIBLE_CATEGORIES for c in text)


class ReadFile(beam.DoFn):
    """One file → its documents, or dead letters for lines and files it cannot read, then the
    file's `FileCount`. Each record read yields exactly one of the two and is counted (`records`),
    so records = documents + read dead letters, per file and in total."""

    def __init__(self, max_doc_chars: int) -> None:
        self.max_doc_chars = max_doc_chars

    def process(self, file: InputFile) -> Iterator[Document | DeadLetter | FileCount]:
        compressed, outputs = self._records(file)
        records = 0
        for out in outputs:
            records += 1
            yield out
        count("records", records)
        yield FileCount(file.url, records, compressed=compressed)

    def _records(self, file: InputFile) -> tuple[bool, Iterable[Document | DeadLetter]]:
        """Whether the file is gzip, and what it holds: one output per record."""
        kind = _kind(file.url)
        if kind is None:
            return False, [dead_letter(DeadLetter(None, STAGE, "unsupported file type (expected .jsonl, .json, .ndjson or"
                                           " .txt, optionally .gz); file skipped", source=file.url))]
        try:
            data, compressed, damage = _read_bytes(file.url)
        except OSError as exc:
            return False, [dead_letter(DeadLetter(None, STAGE, f"cannot read file: {exc}", source=file.url))]
        if data[:2] in UTF16_BOMS:
            return compressed, [dead_letter(DeadLetter(None, STAGE, "file is UTF-16 (byte-order mark); polyrel reads"
                                                       " UTF-8: convert it, e.g. iconv -f UTF-16 -t UTF-8", source=file.url))]
        return compressed, self._decoded(file, kind, data, damage)

    def _decoded(self, file: InputFile, kind: str, data: bytes, damage: str | None) -> Iterator[Document | DeadLetter]:
        if kind == "text":
            yield from self._text(file, data)
        else:
            for number, line in enumerate(data.splitlines(), start=1):
                if line.strip():
                    yield from self._line(file, number, line)
        if damage:
            yield dead_letter(DeadLetter(None, STAGE, damage, source=file.url))

    def _text(self, file: InputFile, data: bytes) -> Iterator[Document | DeadLetter]:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            yield dead_letter(DeadLetter(file.name, STAGE, f"not UTF-8: {exc}", truncate(repr(data[:RAW_LIMIT])), file.url))
            return
        yield from self._checked(Document(file.name, text, source=file.url), text, file.url)

    def _line(self, file: InputFile, number: int, line: bytes) -> Iterator[Document | DeadLetter]:
        source = f"{file.url}:{number}"
        try:
            raw = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield dead_letter(DeadLetter(None, STAGE, f"not UTF-8: {exc}", truncate(repr(line)), source))
            return
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield dead_letter(DeadLetter(None, STAGE, f"unparseable JSON: {exc}", truncate(raw), source))
            return
        except RecursionError:
            yield dead_letter(DeadLetter(None, STAGE, "JSON nested too deeply to read", truncate(raw), source))
            return
        try:
            problem = _invalid_unicode(json.dumps(record, ensure_ascii=False))
            if problem:
                raise ValueError(problem)
            document = parse_document(record, f"{file.name}:{number}", source)
        except (ValueError, RecursionError) as exc:
            reason = "JSON nested too deeply to read" if isinstance(exc, RecursionError) else str(exc)
            yield dead_letter(DeadLetter(_readable_id(record), STAGE, reason, truncate(raw), source))
            return
        yield from self._checked(document, raw, source)

    def _checked(self, document: Document, raw: str, source: str) -> Iterator[Document | DeadLetter]:
        if not document.text.strip():
            yield dead_letter(DeadLetter(document.id, STAGE, "empty text", truncate(raw), source))
        elif not _has_visible_text(document.text):
            yield dead_letter(DeadLetter(document.id, STAGE, "text has no visible characters (only spaces, control or"
                                         " zero-width characters)", truncate(repr(raw)), source))
        elif len(document.text) > self.max_doc_chars:
            yield dead_letter(DeadLetter(
                document.id, STAGE,
                f"document has {len(document.text)} characters, over --max-doc-chars {self.max_doc_chars}",
                truncate(raw), source))
        else:
            count("documents")
            yield document


def _first_of_each_id(keyed: tuple[str, Iterable[Document]]) -> Iterator[Document | DeadLetter]:
    """One document per id: the first by source position; every other is a dead letter naming it."""
    doc_id, documents = keyed[0], list(keyed[1])
    first = first_by_position(documents)
    yield first
    for other in (d for d in documents if d is not first):
        count("documents", -1)
        yield dead_letter(DeadLetter(doc_id, STAGE, f"duplicate id {doc_id!r}: already used by {first.source}; ids must"
                                     " be unique, so this document was not processed", truncate(other.text), other.source))


def first_by_position(documents: Iterable[Document]) -> Document:
    """The document read first: lowest file path, then line."""
    return min(documents, key=lambda d: _position(d.source))


def _position(source: str) -> tuple[str, int]:
    path, _, line = source.rpartition(":")
    return (path, int(line)) if line.isdigit() else (source, 0)


class ReadDocuments(beam.PTransform):
    """Input patterns → (documents, dead letters, file counts). The patterns are listed once, at
    construction (launch): each file is one element of the job's input, so a runner spreads files
    over workers, and `input_bytes` sizes the job."""

    def __init__(self, inputs: Sequence[str], max_doc_chars: int) -> None:
        super().__init__()
        self.listed = [found for pattern in inputs for found in expand_input(pattern)]
        self.input_bytes = input_size(self.listed)
        self.max_doc_chars = max_doc_chars

    def expand(self, pbegin: beam.pvalue.PBegin) -> tuple[beam.PCollection, beam.PCollection, beam.PCollection]:
        """(documents, dead letters, one `FileCount` per input file or unmatched pattern)."""
        matched, match_counts = _split_counts(
            pbegin | "Files" >> beam.Create(self.listed) | "CountUnmatched" >> beam.Map(_count_match), "ReadMatch")
        files, bad_patterns = split_dead_letters(matched, "ReadMatch")
        read, read_counts = _split_counts(
            files
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadFiles" >> beam.ParDo(ReadFile(self.max_doc_chars)), "ReadFiles")
        documents, bad_records = split_dead_letters(read, "ReadFiles")
        unique, duplicates = split_dead_letters(
            documents
            | "KeyById" >> beam.Map(lambda d: (d.id, d))
            | "GroupById" >> beam.GroupByKey()
            | "FirstOfEachId" >> beam.FlatMap(_first_of_each_id), "UniqueIds")
        errors = (bad_patterns, bad_records, duplicates) | "Errors" >> beam.Flatten()
        per_file = {
            "read": (match_counts, read_counts) | "Counts" >> beam.Flatten() | "KeyCounts" >> beam.Map(lambda c: (c.file, c)),
            "documents": unique | "DocumentFiles" >> beam.Map(lambda d: (_file_of(d.source), 1)) | "SumDocuments" >> beam.CombinePerKey(sum),
            "dead": errors | "ErrorFiles" >> beam.Map(lambda e: (_file_of(e.source), 1)) | "SumErrors" >> beam.CombinePerKey(sum),
        } | "PerFile" >> beam.CoGroupByKey() | "FileCounts" >> beam.MapTuple(_file_count)
        return unique, errors, per_file


def _split_counts(pcoll: beam.PCollection, stage: str) -> tuple[beam.PCollection, beam.PCollection]:
    """(everything else, the `FileCount`s) of a read step's output."""
    return (pcoll | f"{stage}.Records" >> beam.Filter(lambda x: not isinstance(x, FileCount)),
            pcoll | f"{stage}.Counts" >> beam.Filter(lambda x: isinstance(x, FileCount)))


def _file_of(source: str | None) -> str:
    """The file (or pattern) a record's source names, without its line number."""
    return _position(source or "")[0]


def _file_count(file: str, groups: dict[str, list[Any]]) -> FileCount:
    tallies = groups["read"]
    return FileCount(file, sum(t.records for t in tallies), sum(groups["documents"]), sum(groups["dead"]),
                     any(t.compressed for t in tallies))
