"""Small triples tables built directly with the schema in `schemas.tables`, no pipeline needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from polyrel.schemas.records import Entity, PairCandidate, Sentence, Triple
from polyrel.schemas.tables import TRIPLES_SCHEMA, triple_row


def mention(text: str, sentence: str, type_: str, offset: int = 0) -> Entity:
    start = sentence.index(text) + offset
    return Entity(start, start + len(text), type_, token_start=0, token_end=1, text=text, source="given")


def row(doc_id: str, sentence: str, head: tuple[str, str], tail: tuple[str, str], label: str, score: float,
        *, index: int = 0, lang: str = "en", run_id: str = "run-1", model_id: str = "tiny") -> dict[str, Any]:
    s = Sentence(doc_id, index, 0, len(sentence), sentence, lang, ())
    pair = PairCandidate(s, mention(head[0], sentence, head[1]), mention(tail[0], sentence, tail[1]))
    return triple_row(Triple(pair, label, score), model_id, run_id)


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=TRIPLES_SCHEMA), path)
    return path


EN = "Helena Marsh leads Northwind Energy in Bristol."
DE = "Helena Marsh leitet Northwind Energy in Bristol."
FR = "Jonas Keller dirige Bergmann Stiftung."


def corpus(run_id: str = "run-1") -> list[dict[str, Any]]:
    """Three documents in three languages; Helena Marsh and Northwind Energy occur in two."""
    return [
        row("doc-en", EN, ("Helena Marsh", "person"), ("Northwind Energy", "organisation"), "role", 0.91, run_id=run_id),
        row("doc-en", EN, ("Northwind Energy", "organisation"), ("Bristol", "location"), "physical", 0.62, run_id=run_id),
        row("doc-de", DE, ("Helena Marsh", "person"), ("Northwind Energy", "organisation"), "role", 0.84,
            lang="de", run_id=run_id),
        row("doc-fr", FR, ("Jonas Keller", "person"), ("Bergmann Stiftung", "organisation"), "role", 0.55,
            lang="fr", run_id=run_id),
    ]
