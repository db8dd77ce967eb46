"""Triple rows (the Parquet contract, `schemas.tables.TRIPLES_SCHEMA`) → RDF quads of one document.

A document's named graph (`vocabulary.document_iri`) holds everything loaded from it, so
retracting or replacing a document is dropping one graph:

    doc        a pr:Document ; pr:docId "news-en-001" ; pr:run "<run id>" ; pr:digest "<rows hash>"
    sentence   a pr:Sentence ; pr:document doc ; pr:index 0 ; pr:text "…" ; pr:lang "en"
    mention    a pr:Mention ; pr:document doc ; pr:sentence sentence ; pr:text "Helena Marsh" ;
               pr:entityType "person" ; pr:start 0 ; pr:end 12 ; pr:lang "en" ; pr:denotes entity
    entity     a pr:Entity ; pr:entityType "person" ; pr:key "helena marsh" ; rdfs:label "Helena Marsh"
    statement  a rdf:Statement, pr:RelationStatement ;
               rdf:subject head-entity ; rdf:predicate rel:role ; rdf:object tail-entity ;
               pr:relation "role" ; pr:head head-mention ; pr:tail tail-mention ;
               pr:score 0.87 ; pr:model "…" ; pr:run "…" ; pr:document doc ; pr:sentence sentence ;
               pr:lang "en" ; pr:tripleId "…"
    head-entity rel:role tail-entity        the asserted edge, for plain graph queries

Every statement node thus carries its provenance (document, sentence, score, model, run)
with standard RDF reification, which any RDF 1.1 tool and N-Quads/N-Triples carry unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from pyoxigraph import Literal, NamedNode, Quad

from polyrel.kg import vocabulary as v
from polyrel.schemas.tables import content_id

# The triple columns a loader needs; checked before loading.
REQUIRED_COLUMNS = (
    "triple_id", "doc_id", "sentence_index", "sentence_text", "lang",
    "head_text", "head_type", "head_start", "head_end",
    "tail_text", "tail_type", "tail_start", "tail_end",
    "relation", "score", "model_id", "run_id",
)


@lru_cache(maxsize=65536)
def _iri(value: str) -> NamedNode:
    return NamedNode(value)


@lru_cache(maxsize=65536)
def _str(value: str) -> Literal:
    return Literal(value)


_INTEGER = NamedNode(v.XSD + "integer")
_DOUBLE = NamedNode(v.XSD + "double")


@lru_cache(maxsize=4096)
def _int(value: int) -> Literal:
    return Literal(str(int(value)), datatype=_INTEGER)


def _score(value: float) -> Literal:
    # The shortest text that reads back as the stored float32, so equal rows give equal literals.
    return Literal(str(np.float32(value)), datatype=_DOUBLE)


def rows_digest(rows: Iterable[Mapping[str, Any]]) -> str:
    """A hash of a document's rows (order-independent): equal digests mean nothing to reload."""
    canonical = sorted(
        [[str(r[c]) if c != "score" else str(np.float32(r[c])) for c in REQUIRED_COLUMNS] for r in rows])
    return content_id("rows", canonical)


def document_quads(doc_id: str, rows: list[Mapping[str, Any]], run_id: str) -> list:
    """The quads of one document's named graph: its document node and every row's statement."""
    graph = _iri(v.document_iri(doc_id))
    out: list = []
    seen: set = set()

    def add(s, p: str, o) -> None:
        key = (s, p, o)
        if key not in seen:
            seen.add(key)
            out.append(Quad(s, _iri(p), o, graph))

    add(graph, v.TYPE, _iri(v.DOCUMENT))
    add(graph, v.DOC_ID, _str(doc_id))
    add(graph, v.RUN, _str(run_id))
    add(graph, v.DIGEST, _str(rows_digest(rows)))
    for r in sorted(rows, key=lambda r: r["triple_id"]):
        if r["doc_id"] != doc_id:
            raise ValueError(f"row {r['triple_id']} belongs to {r['doc_id']!r}, not {doc_id!r}")
        sentence = _iri(v.sentence_iri(doc_id, r["sentence_index"]))
        add(graph, v.LANG, _str(r["lang"]))
        add(sentence, v.TYPE, _iri(v.SENTENCE))
        add(sentence, v.IN_DOCUMENT, graph)
        add(sentence, v.INDEX, _int(r["sentence_index"]))
        add(sentence, v.TEXT, _str(r["sentence_text"]))
        add(sentence, v.LANG, _str(r["lang"]))
        ends = {}
        for role in ("head", "tail"):
            text, etype = r[f"{role}_text"], r[f"{role}_type"]
            mention = _iri(v.mention_iri(doc_id, r[f"{role}_start"], r[f"{role}_end"]))
            entity = _iri(v.entity_iri(text, etype))
            type_key, text_key = v.entity_key(text, etype)
            add(mention, v.TYPE, _iri(v.MENTION))
            add(mention, v.IN_DOCUMENT, graph)
            add(mention, v.IN_SENTENCE, sentence)
            add(mention, v.TEXT, _str(text))
            add(mention, v.ENTITY_TYPE, _str(etype))
            add(mention, v.START, _int(r[f"{role}_start"]))
            add(mention, v.END, _int(r[f"{role}_end"]))
            add(mention, v.LANG, _str(r["lang"]))
            add(mention, v.DENOTES, entity)
            add(entity, v.TYPE, _iri(v.ENTITY))
            add(entity, v.ENTITY_TYPE, _str(type_key))
            add(entity, v.KEY, _str(text_key))
            add(entity, v.LABEL, _str(text))
            ends[role] = (mention, entity)
        statement = _iri(v.statement_iri(r["triple_id"]))
        predicate = _iri(v.relation_iri(r["relation"]))
        add(statement, v.TYPE, _iri(v.RDF_STATEMENT))
        add(statement, v.TYPE, _iri(v.RELATION_STATEMENT))
        add(statement, v.SUBJECT, ends["head"][1])
        add(statement, v.PREDICATE, predicate)
        add(statement, v.OBJECT, ends["tail"][1])
        add(statement, v.RELATION_LABEL, _str(r["relation"]))
        add(statement, v.HEAD, ends["head"][0])
        add(statement, v.TAIL, ends["tail"][0])
        add(statement, v.SCORE, _score(r["score"]))
        add(statement, v.MODEL, _str(r["model_id"]))
        add(statement, v.RUN, _str(r["run_id"]))
        add(statement, v.IN_DOCUMENT, graph)
        add(statement, v.IN_SENTENCE, sentence)
        add(statement, v.LANG, _str(r["lang"]))
        add(statement, v.TRIPLE_ID, _str(r["triple_id"]))
        add(ends["head"][1], v.relation_iri(r["relation"]), ends["tail"][1])
    return out
