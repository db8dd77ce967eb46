"""The graph's vocabulary and its stable IRIs: one function per kind of node.

Every IRI is derived from content, never from a load order or a run, so loading the same
triples twice, or into another store, gives the same nodes:

    document   urn:polyrel:doc:<h(doc_id)>                 also the document's named graph
    sentence   urn:polyrel:sentence:<h(doc_id, index)>
    mention    urn:polyrel:mention:<h(doc_id, start, end)> an entity occurrence: document + char span
    entity     urn:polyrel:entity:<h(type, key)>           canonical: normalised surface text + type,
                                                           shared across documents and languages
    statement  urn:polyrel:statement:<triple_id>           one extracted relation (the Parquet triple id)
    relation   urn:polyrel:relation:<label>                the predicate of the asserted entity edge
    vocabulary urn:polyrel:vocab:<term>                    classes and properties (prefix `pr:`)

`h` is the first 32 hex digits of the sha256 of the parts as canonical JSON (see
`schemas.tables.content_id`). URNs claim no web domain; `PREFIXES` gives the short forms
used in queries and printed results.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from polyrel.schemas.tables import content_id

BASE = "urn:polyrel:"
VOCAB = BASE + "vocab:"
RELATION = BASE + "relation:"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"

PREFIXES: dict[str, str] = {
    "pr": VOCAB,
    "rel": RELATION,
    "doc": BASE + "doc:",
    "sent": BASE + "sentence:",
    "mention": BASE + "mention:",
    "ent": BASE + "entity:",
    "stmt": BASE + "statement:",
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
}

# Classes
DOCUMENT = VOCAB + "Document"
SENTENCE = VOCAB + "Sentence"
MENTION = VOCAB + "Mention"
ENTITY = VOCAB + "Entity"
RELATION_STATEMENT = VOCAB + "RelationStatement"
RDF_STATEMENT = RDF + "Statement"

# Properties
TYPE = RDF + "type"
LABEL = RDFS + "label"
SUBJECT, PREDICATE, OBJECT = RDF + "subject", RDF + "predicate", RDF + "object"
DOC_ID = VOCAB + "docId"
IN_DOCUMENT = VOCAB + "document"
IN_SENTENCE = VOCAB + "sentence"
LANG = VOCAB + "lang"
INDEX = VOCAB + "index"
TEXT = VOCAB + "text"
ENTITY_TYPE = VOCAB + "entityType"
KEY = VOCAB + "key"
START, END = VOCAB + "start", VOCAB + "end"
DENOTES = VOCAB + "denotes"
HEAD, TAIL = VOCAB + "head", VOCAB + "tail"
RELATION_LABEL = VOCAB + "relation"
SCORE = VOCAB + "score"
MODEL = VOCAB + "model"
RUN = VOCAB + "run"
TRIPLE_ID = VOCAB + "tripleId"
DIGEST = VOCAB + "digest"  # of a document's loaded rows: lets a reload of the same rows be skipped

_SPACE = re.compile(r"\s+")


def _h(*parts: object) -> str:
    return content_id(*parts)[:32]


def normalise(text: str) -> str:
    """The key that makes two surface forms one canonical entity: NFKC, case-folded, single spaces."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def document_iri(doc_id: str) -> str:
    return f"{BASE}doc:{_h('doc', doc_id)}"


def sentence_iri(doc_id: str, index: int) -> str:
    return f"{BASE}sentence:{_h('sentence', doc_id, index)}"


def mention_iri(doc_id: str, start: int, end: int) -> str:
    return f"{BASE}mention:{_h('mention', doc_id, start, end)}"


def entity_key(text: str, entity_type: str) -> tuple[str, str]:
    return normalise(entity_type), normalise(text)


def entity_iri(text: str, entity_type: str) -> str:
    return f"{BASE}entity:{_h('entity', *entity_key(text, entity_type))}"


def statement_iri(triple_id: str) -> str:
    return f"{BASE}statement:{quote(triple_id, safe='')}"


def relation_iri(label: str) -> str:
    return RELATION + quote(label, safe="-_.~")


def shorten(iri: str) -> str:
    """`urn:polyrel:vocab:score` → `pr:score`; IRIs outside the known prefixes stay whole."""
    best = max((p for p in PREFIXES.items() if iri.startswith(p[1])), key=lambda p: len(p[1]), default=None)
    return f"{best[0]}:{iri[len(best[1]):]}" if best else iri


def sparql_prefixes() -> str:
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items())
