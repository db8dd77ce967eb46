"""The knowledge-graph store: an Oxigraph (pyoxigraph) RDF dataset on disk, one named graph per document.

Loading is replacement by document, never appending: the graphs of the documents being
loaded are dropped and re-inserted in one SPARQL update (one transaction per batch), so a
reprocessed document's old statements disappear, and loading the same rows again changes
nothing (a document whose stored run and row digest already match is skipped outright).

Two ways in:
- `sync(out_dir)`: an incremental output with a manifest (`schemas.manifest`). The store
  catches up with the manifest: every document whose stored run differs from the run the
  manifest names is reloaded from that run's triples, and documents the manifest lists as
  deleted are retracted. Idempotent and self-healing: a load that was interrupted or skipped
  is completed by the next one.
- `load_triples(paths)`: any triples Parquet (files, directories, or a plain run output with
  a `triples/` directory): the documents it holds replace their graphs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from polyrel.kg import vocabulary as v
from polyrel.kg.mapping import REQUIRED_COLUMNS, document_quads, rows_digest
from polyrel.progress import track
from polyrel.schemas.tables import TRIPLES_VERSION

if TYPE_CHECKING:
    from pyoxigraph import QuerySolutions

BATCH_QUADS = 50_000  # quads per update transaction (a document is never split)


@dataclass
class LoadReport:
    added: list[str] = field(default_factory=list)  # documents new to the store
    replaced: list[str] = field(default_factory=list)  # documents whose graph was replaced
    unchanged: list[str] = field(default_factory=list)  # already current: skipped
    retracted: list[str] = field(default_factory=list)  # deleted documents whose graph was dropped
    quads: int = 0  # quads inserted

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.retracted)

    def summary(self) -> str:
        if not self.changed:
            return f"nothing to load: the store is current ({len(self.unchanged)} documents unchanged)"
        return (f"{len(self.added)} documents added, {len(self.replaced)} replaced, {len(self.unchanged)}"
                f" unchanged, {len(self.retracted)} retracted; {self.quads} quads inserted")


def _quad_text(quad: Any) -> str:
    return f"{quad.subject} {quad.predicate} {quad.object} ."


def _fs_path(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    return fsspec.core.url_to_fs(url)


def _check_schema(schema: pa.Schema, source: str) -> None:
    metadata = schema.metadata or {}
    table = metadata.get(b"polyrel.table")
    if table is not None and table != b"triples":
        raise ValueError(f"{source}: a {table.decode()!r} table, not triples")
    version = metadata.get(b"polyrel.schema_version")
    if version is not None and int(version) > TRIPLES_VERSION:
        raise ValueError(f"{source}: triples schema version {version.decode()} is newer than this loader"
                         f" ({TRIPLES_VERSION}); upgrade polyrel")
    missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
    if missing:
        raise ValueError(f"{source}: not a polyrel triples table (missing columns {', '.join(missing)})")


def read_triples(source: str, doc_ids: Iterable[str] | None = None) -> pa.Table:
    """The triples under `source` (a Parquet file, a directory of parts, or a run output with triples/)."""
    fs, path = _fs_path(source)
    if fs.isdir(path) and fs.isdir(f"{path.rstrip('/')}/triples"):
        path = f"{path.rstrip('/')}/triples"
    if not fs.exists(path):
        raise FileNotFoundError(f"no triples at {source}")
    filters = None if doc_ids is None else [("doc_id", "in", sorted(doc_ids))]
    if fs.isdir(path):
        files = sorted(p for p in fs.find(path) if p.endswith(".parquet")
                       and not any(part.startswith((".", "_")) for part in p[len(path):].split("/")))
    else:
        files = [path]
    parts = []
    for file in files:
        _check_schema(pq.read_schema(file, filesystem=fs), file)
        table = pq.read_table(file, filesystem=fs, columns=list(REQUIRED_COLUMNS), filters=filters)
        parts.append(table)
    if not parts:
        raise FileNotFoundError(f"no Parquet files under {source}")
    return pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]


def group_by_document(table: pa.Table) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in table.to_pylist():
        grouped.setdefault(row["doc_id"], []).append(row)
    return grouped


class GraphStore:
    """A pyoxigraph store (on disk at `path`, or in memory when `path` is None) holding polyrel graphs."""

    def __init__(self, path: str | None = None) -> None:
        from pyoxigraph import Store

        self.path = path
        try:
            self.store = Store(path) if path is not None else Store()
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise OSError(f"the store at {path} is in use by another process (Oxigraph allows one"
                              f" writer/reader process at a time): {exc}") from exc
            raise

    # ---- state
    def documents(self) -> dict[str, tuple[str, str]]:
        """`doc_id → (run_id, digest)` of every document graph in the store."""
        query = (v.sparql_prefixes()
                 + "SELECT ?id ?run ?digest WHERE { GRAPH ?g { ?g a pr:Document ; pr:docId ?id ;"
                 " pr:run ?run ; pr:digest ?digest } }")
        return {s["id"].value: (s["run"].value, s["digest"].value) for s in self._select(query)}

    def __len__(self) -> int:
        return len(self.store)

    # ---- writing
    def replace_documents(self, documents: Mapping[str, tuple[str, list[dict[str, Any]]]],
                          report: LoadReport | None = None, *, force: bool = False) -> LoadReport:
        """Replace the graphs of `doc_id → (run_id, rows)`; a document with no rows keeps only its node."""
        report = report or LoadReport()
        current = self.documents()
        batch: list[str] = []
        batch_quads = 0
        for doc_id in track(sorted(documents), "kg load", unit="doc"):
            run_id, rows = documents[doc_id]
            stored = current.get(doc_id)
            if not force and stored == (run_id, rows_digest(rows)):
                report.unchanged.append(doc_id)
                continue
            quads = document_quads(doc_id, rows, run_id)
            (report.replaced if stored else report.added).append(doc_id)
            report.quads += len(quads)
            batch.append(f"DROP SILENT GRAPH <{v.document_iri(doc_id)}> ;")
            batch.append(f"INSERT DATA {{ GRAPH <{v.document_iri(doc_id)}> {{\n"
                         + "\n".join(_quad_text(q) for q in quads) + "\n} } ;")
            batch_quads += len(quads)
            if batch_quads >= BATCH_QUADS:
                self._update(batch)
                batch, batch_quads = [], 0
        self._update(batch)
        return report

    def retract_documents(self, doc_ids: Iterable[str], report: LoadReport | None = None) -> LoadReport:
        """Drop the graphs of documents that are in the store (others are ignored)."""
        report = report or LoadReport()
        present = self.documents()
        gone = sorted(d for d in set(doc_ids) if d in present)
        self._update([f"DROP SILENT GRAPH <{v.document_iri(d)}> ;" for d in gone])
        report.retracted.extend(gone)
        return report

    def _update(self, statements: Sequence[str]) -> None:
        if statements:
            self.store.update("\n".join(statements).rstrip(" ;"))

    def load_triples(self, sources: Sequence[str], *, force: bool = False) -> LoadReport:
        """Load triples Parquet: every document found replaces its graph (run id: its rows' latest)."""
        tables = [read_triples(s) for s in sources]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for table in tables:
            for doc_id, rows in group_by_document(table).items():
                grouped.setdefault(doc_id, []).extend(rows)
        documents = {d: (max(r["run_id"] for r in rows), _dedupe(rows)) for d, rows in grouped.items()}
        report = self.replace_documents(documents, force=force)
        self.store.flush()
        return report

    def sync(self, out_dir: str, *, force: bool = False) -> LoadReport:
        """Bring the store up to date with an incremental output's manifest (see the module doc)."""
        from polyrel.schemas.manifest import Manifest, table_dir

        manifest = Manifest.load(out_dir)
        if manifest.generation == 0:
            raise FileNotFoundError(f"{out_dir} has no manifest: not an incremental output"
                                    " (load its triples/ directory instead)")
        report = LoadReport()
        stored = self.documents()
        for run_id, doc_ids in manifest.documents_by_run().items():
            stale = [d for d in doc_ids if force or stored.get(d, (None,))[0] != run_id]
            report.unchanged.extend(d for d in doc_ids if d not in stale)
            if not stale:
                continue
            source = table_dir(out_dir, run_id, "triples")
            try:
                grouped = group_by_document(read_triples(source, stale))
            except FileNotFoundError as exc:
                raise FileNotFoundError(f"the manifest says run {run_id} holds {len(stale)} documents, but"
                                        f" its triples are missing ({exc}); rerun the pipeline with --full") from exc
            self.replace_documents({d: (run_id, _dedupe(grouped.get(d, []))) for d in stale}, report, force=True)
        self.retract_documents(manifest.deleted, report)
        report.unchanged.sort()
        self.store.flush()
        return report

    # ---- reading
    def query(self, sparql: str) -> Any:
        """A SPARQL 1.1 query with the polyrel prefixes and the union of all graphs as default graph."""
        return self.store.query(sparql, prefixes=dict(v.PREFIXES), use_default_graph_as_union=True)

    def _select(self, sparql: str) -> QuerySolutions:
        """A raw SELECT over the stored graphs (no prefixes, no union default graph)."""
        return cast("QuerySolutions", self.store.query(sparql))

    def dump(self, output: Any, fmt: str) -> None:
        """Write the store: `nquads` (every graph, as stored) or `ntriples` (the union, each triple once, sorted)."""
        from pyoxigraph import RdfFormat

        if fmt == "nquads":
            self.store.dump(output, format=RdfFormat.N_QUADS)
            return
        if fmt != "ntriples":
            raise ValueError(f"unknown format {fmt!r} (nquads, ntriples)")
        lines = sorted({f"{s['s']} {s['p']} {s['o']} .\n"
                        for s in self._select("SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")})
        data = "".join(lines).encode()
        if hasattr(output, "write"):
            output.write(data)
        else:
            with open(output, "wb") as handle:
                handle.write(data)


def _dedupe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per triple id (a document loaded from overlapping sources keeps the last)."""
    return list({r["triple_id"]: r for r in rows}.values())
