"""The Parquet tables a run writes, as Arrow schemas, and the row builders that fill them.

The triples table is the contract with knowledge-graph loaders: change a column only with a
version bump here and a note in README. Each schema carries its name and version in the Arrow
metadata (`polyrel.table`, `polyrel.schema_version`) so a reader can check what it loads.
Ids are content hashes, independent of the run, so re-running on the same input gives the
same ids and loaders can upsert.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pyarrow as pa

from polyrel.schemas.records import DeadLetter, Entity, FileCount, Sentence, Triple

TRIPLES_VERSION = 1
ENTITIES_VERSION = 2  # 2: `score`
ERRORS_VERSION = 1
FILES_VERSION = 1


def _schema(name: str, version: int, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={"polyrel.table": name, "polyrel.schema_version": str(version)})


def _span_fields(prefix: str) -> list[pa.Field]:
    return [
        pa.field(f"{prefix}_text", pa.string(), nullable=False),
        pa.field(f"{prefix}_type", pa.string(), nullable=False),
        pa.field(f"{prefix}_start", pa.int64(), nullable=False),
        pa.field(f"{prefix}_end", pa.int64(), nullable=False),
    ]


TRIPLES_SCHEMA = _schema("triples", TRIPLES_VERSION, [
    pa.field("triple_id", pa.string(), nullable=False),
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("sentence_index", pa.int32(), nullable=False),
    pa.field("sentence_text", pa.string(), nullable=False),
    pa.field("lang", pa.string(), nullable=False),
    *_span_fields("head"),
    *_span_fields("tail"),
    pa.field("relation", pa.string(), nullable=False),
    pa.field("score", pa.float32(), nullable=False),
    pa.field("model_id", pa.string(), nullable=False),
    pa.field("run_id", pa.string(), nullable=False),
])

ENTITIES_SCHEMA = _schema("entities", ENTITIES_VERSION, [
    pa.field("entity_id", pa.string(), nullable=False),
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("sentence_index", pa.int32(), nullable=False),
    pa.field("lang", pa.string(), nullable=False),
    *_span_fields("entity"),
    pa.field("token_start", pa.int32(), nullable=False),
    pa.field("token_end", pa.int32(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("score", pa.float32()),  # the NER model's confidence; null for given entities
    pa.field("run_id", pa.string(), nullable=False),
])

ERRORS_SCHEMA = _schema("errors", ERRORS_VERSION, [
    pa.field("doc_id", pa.string()),
    pa.field("stage", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("raw", pa.string()),
    pa.field("source", pa.string()),
    pa.field("run_id", pa.string(), nullable=False),
])


FILES_SCHEMA = _schema("files", FILES_VERSION, [
    pa.field("file", pa.string(), nullable=False),
    pa.field("records", pa.int64(), nullable=False),
    pa.field("documents", pa.int64(), nullable=False),
    pa.field("dead_letters", pa.int64(), nullable=False),
    pa.field("compressed", pa.bool_(), nullable=False),
    pa.field("run_id", pa.string(), nullable=False),
])


def content_id(*parts: Any) -> str:
    """sha256 hex of the parts as canonical JSON: stable across runs, runners and machines."""
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def triple_id(doc_id: str, head: Entity, tail: Entity, label: str) -> str:
    return content_id("triple", doc_id, head.start, head.end, tail.start, tail.end, label)


def entity_id(doc_id: str, mention: Entity) -> str:
    return content_id("entity", doc_id, mention.start, mention.end, mention.type)


def _span(prefix: str, mention: Entity) -> dict[str, Any]:
    return {f"{prefix}_text": mention.text, f"{prefix}_type": mention.type,
            f"{prefix}_start": mention.start, f"{prefix}_end": mention.end}


def triple_row(triple: Triple, model_id: str, run_id: str) -> dict[str, Any]:
    pair = triple.pair
    sentence = pair.sentence
    return {
        "triple_id": triple_id(sentence.doc_id, pair.head, pair.tail, triple.label),
        "doc_id": sentence.doc_id,
        "sentence_index": sentence.index,
        "sentence_text": sentence.text,
        "lang": sentence.lang,
        **_span("head", pair.head),
        **_span("tail", pair.tail),
        "relation": triple.label,
        "score": triple.score,
        "model_id": model_id,
        "run_id": run_id,
    }


def entity_row(sentence: Sentence, mention: Entity, run_id: str) -> dict[str, Any]:
    return {
        "entity_id": entity_id(sentence.doc_id, mention),
        "doc_id": sentence.doc_id,
        "sentence_index": sentence.index,
        "lang": sentence.lang,
        **_span("entity", mention),
        "token_start": mention.token_start,
        "token_end": mention.token_end,
        "source": mention.source,
        "score": mention.score,
        "run_id": run_id,
    }


def error_row(letter: DeadLetter, run_id: str) -> dict[str, Any]:
    return {"doc_id": letter.doc_id, "stage": letter.stage, "reason": letter.reason,
            "raw": letter.raw, "source": letter.source, "run_id": run_id}


def file_row(count: FileCount, run_id: str) -> dict[str, Any]:
    return {"file": count.file, "records": count.records, "documents": count.documents,
            "dead_letters": count.dead_letters, "compressed": count.compressed, "run_id": run_id}


# The key each table's rows are sorted by inside a file, so output files are byte-identical
# whatever the runner or bundle order.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "triples": ("triple_id",),
    "entities": ("entity_id", "sentence_index"),
    "errors": ("stage", "doc_id", "reason", "raw", "source"),
    "files": ("file",),
}
