"""Canned SPARQL over a polyrel graph, and turning any query's solutions into plain rows.

Queries see the union of all document graphs as their default graph, with the prefixes of
`vocabulary.PREFIXES` (pr:, rel:, ent:, doc:…) predeclared.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from polyrel.kg import vocabulary as v
from polyrel.terminal import printable

# Every relation an entity takes part in (as head or tail), across documents and languages.
ENTITY_RELATIONS = """
SELECT ?head ?head_type ?relation ?tail ?tail_type ?score ?lang ?doc ?sentence WHERE {
  { SELECT DISTINCT ?entity WHERE { ?entity a pr:Entity ; pr:key %(key)s . %(type_filter)s } }
  { ?st rdf:subject ?entity } UNION { ?st rdf:object ?entity }
  ?st a pr:RelationStatement ; pr:relation ?relation ; pr:score ?score ; pr:lang ?lang ;
      pr:head ?hm ; pr:tail ?tm ; pr:document ?d ; pr:sentence ?s ; pr:tripleId ?id .
  ?hm pr:text ?head ; pr:entityType ?head_type .
  ?tm pr:text ?tail ; pr:entityType ?tail_type .
  ?d pr:docId ?doc .
  ?s pr:index ?sentence .
}
ORDER BY DESC(?score) ?doc ?sentence ?id
"""

# The highest-scoring statements of one relation label.
STRONGEST = """
SELECT ?score ?head ?head_type ?tail ?tail_type ?lang ?doc ?sentence ?model ?run WHERE {
  ?st a pr:RelationStatement ; pr:relation %(label)s ; pr:score ?score ; pr:lang ?lang ;
      pr:head ?hm ; pr:tail ?tm ; pr:document ?d ; pr:sentence ?s ; pr:model ?model ; pr:run ?run ;
      pr:tripleId ?id .
  ?hm pr:text ?head ; pr:entityType ?head_type .
  ?tm pr:text ?tail ; pr:entityType ?tail_type .
  ?d pr:docId ?doc .
  ?s pr:index ?sentence .
}
ORDER BY DESC(?score) ?id
LIMIT %(limit)d
"""

STATS = """
SELECT
  (COUNT(DISTINCT ?doc) AS ?documents)
  (COUNT(DISTINCT ?st) AS ?statements)
  (COUNT(DISTINCT ?m) AS ?mentions)
  (COUNT(DISTINCT ?e) AS ?entities)
WHERE {
  { ?doc a pr:Document } UNION { ?st a pr:RelationStatement } UNION { ?m a pr:Mention }
  UNION { ?e a pr:Entity }
}
"""

BY_RELATION = """
SELECT ?relation (COUNT(DISTINCT ?st) AS ?statements) (COUNT(DISTINCT ?lang) AS ?languages) WHERE {
  ?st a pr:RelationStatement ; pr:relation ?relation ; pr:lang ?lang .
}
GROUP BY ?relation ORDER BY DESC(?statements) ?relation
"""


def _literal(text: str) -> str:
    from pyoxigraph import Literal

    return str(Literal(text))


def entity_relations_query(name: str, entity_type: str | None = None) -> str:
    type_filter = "" if entity_type is None else f"?entity pr:entityType {_literal(v.normalise(entity_type))} ."
    return ENTITY_RELATIONS % {"key": _literal(v.normalise(name)), "type_filter": type_filter}


def strongest_query(label: str, limit: int) -> str:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return STRONGEST % {"label": _literal(label), "limit": limit}


_NUMERIC: dict[str, type[int | float]] = {v.XSD + t: int for t in ("integer", "int", "long", "short", "nonNegativeInteger")}
_NUMERIC.update({v.XSD + t: float for t in ("double", "float", "decimal")})


def plain(term: Any) -> Any:
    """An RDF term as a Python value: numbers for numeric literals, text, prefixed IRIs."""
    from pyoxigraph import BlankNode, Literal, NamedNode

    if term is None:
        return None
    if isinstance(term, Literal):
        convert = _NUMERIC.get(term.datatype.value)
        if convert is not None:
            try:
                return convert(term.value)
            except ValueError:
                return term.value
        return term.value
    if isinstance(term, NamedNode):
        return v.shorten(term.value)
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    return str(term)


def run(store: Any, sparql: str) -> tuple[list[str], list[dict[str, Any]]] | bool | list[tuple]:
    """Run a query: SELECT → (columns, rows); ASK → bool; CONSTRUCT/DESCRIBE → list of (s, p, o) text."""
    from pyoxigraph import QueryBoolean, QuerySolutions

    result = store.query(sparql)
    if isinstance(result, QueryBoolean):
        return bool(result)
    if isinstance(result, QuerySolutions):
        columns = [var.value for var in result.variables]
        rows = [{c: plain(solution[c]) for c in columns} for solution in result]
        return columns, rows
    return [(str(t.subject), str(t.predicate), str(t.object)) for t in result]


def render(columns: Sequence[str], rows: Sequence[dict[str, Any]], fmt: str = "table") -> str:
    """Rows as an aligned text table, CSV or JSON lines."""
    if fmt == "json":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r} (table, csv, json)")

    def cell(value: Any) -> str:  # terminal output: control characters escaped
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4f}"
        return printable(str(value).replace("\n", " "))

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(x.ljust(w) for x, w in zip(row, widths)).rstrip() for row in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
