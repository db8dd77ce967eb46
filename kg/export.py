"""The graph as two CSV files for property-graph bulk importers (Neo4j `neo4j-admin database import`).

    nodes.csv  entityId:ID, name, type, key, mentions:int, languages:string[], :LABEL
               one row per canonical entity (label Entity)
    edges.csv  :START_ID, :END_ID, :TYPE, relation, statementId, docId, sentenceIndex:int,
               lang, score:double, model, run, headText, tailText, sentence
               one row per relation statement, its provenance as properties

Header names follow neo4j-admin's import format; `:TYPE` is the relation label in upper snake
case (`general-affiliation` → `GENERAL_AFFILIATION`), the original stays in `relation`.
Rows are sorted, so equal graphs export byte-identical files. Array values use `;`.

    neo4j-admin database import full --nodes=Entity=nodes.csv --relationships=edges.csv neo4j
"""

from __future__ import annotations

import csv
import os
import re
from typing import Any

NODES = """
SELECT ?e ?type ?key (MIN(?label) AS ?name) (COUNT(DISTINCT ?m) AS ?mentions)
       (GROUP_CONCAT(DISTINCT ?lang; separator=";") AS ?languages) WHERE {
  ?e a pr:Entity ; pr:entityType ?type ; pr:key ?key ; rdfs:label ?label .
  ?m pr:denotes ?e ; pr:lang ?lang .
}
GROUP BY ?e ?type ?key
"""

EDGES = """
SELECT ?st ?h ?t ?relation ?id ?doc ?index ?lang ?score ?model ?run ?head ?tail ?sentence WHERE {
  ?st a pr:RelationStatement ; rdf:subject ?h ; rdf:object ?t ; pr:relation ?relation ; pr:tripleId ?id ;
      pr:document ?d ; pr:sentence ?s ; pr:lang ?lang ; pr:score ?score ; pr:model ?model ; pr:run ?run ;
      pr:head ?hm ; pr:tail ?tm .
  ?d pr:docId ?doc .
  ?s pr:index ?index ; pr:text ?sentence .
  ?hm pr:text ?head .
  ?tm pr:text ?tail .
}
"""

NODE_HEADER = ["entityId:ID", "name", "type", "key", "mentions:int", "languages:string[]", ":LABEL"]
EDGE_HEADER = [":START_ID", ":END_ID", ":TYPE", "relation", "statementId", "docId", "sentenceIndex:int",
               "lang", "score:double", "model", "run", "headText", "tailText", "sentence"]


def _local(iri: str) -> str:
    return iri.rsplit(":", 1)[-1]


def relationship_type(label: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]+", "_", label).strip("_").upper() or "RELATED"


def export_csv(store: Any, directory: str) -> tuple[str, str]:
    """Write `nodes.csv` and `edges.csv` into `directory`; returns their paths."""
    from polyrel.kg.queries import plain

    os.makedirs(directory, exist_ok=True)
    nodes = sorted(
        [_local(s["e"].value), s["name"].value, s["type"].value, s["key"].value, int(s["mentions"].value),
         ";".join(sorted(s["languages"].value.split(";"))), "Entity"]
        for s in store.query(NODES))
    edges = sorted(
        [_local(s["h"].value), _local(s["t"].value), relationship_type(s["relation"].value),
         s["relation"].value, s["id"].value, s["doc"].value, plain(s["index"]), s["lang"].value,
         plain(s["score"]), s["model"].value, s["run"].value, s["head"].value, s["tail"].value,
         s["sentence"].value]
        for s in store.query(EDGES))
    paths = os.path.join(directory, "nodes.csv"), os.path.join(directory, "edges.csv")
    for path, header, rows in ((paths[0], NODE_HEADER, nodes), (paths[1], EDGE_HEADER, edges)):
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return paths
