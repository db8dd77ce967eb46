"""The storage contract of incremental outputs: which documents an output holds, and which run holds each.

The pipeline writes it (`pipeline/incremental.py`) and the knowledge graph reads it (`kg/store.py:sync`);
neither reaches into the other.

An output directory (any fsspec URL) that runs incrementally looks like this:

    <out>/_manifest.parquet              one row per document ever seen (the commit point)
    <out>/runs/<run_id>/_plan.parquet    what the run set out to do (written before it starts)
    <out>/runs/<run_id>/triples/…        each run's tables; runs never overwrite each other
    <out>/runs/<run_id>/entities/…
    <out>/runs/<run_id>/errors/…
    <out>/runs/<run_id>/files/…

A run goes: `Manifest.load(out)` → `plan(documents)` sorts the input into new, changed,
unchanged and deleted documents by a content hash → `plan.save(out, run_id)` → the pipeline
processes only `plan.to_process`, writing under `run_dir(out, run_id)` → `commit_run(out,
run_id)` (or `manifest.commit(plan, run_id)`) writes the next manifest to a temporary name and
renames it over the old one. A run that fails before the commit leaves the previous manifest
in place, and its run directory is referenced by no document (`unreferenced_runs` lists such
leftovers); the next run plans the same work again.

Manifest rows: `doc_id`, `content_hash`, `run_id` (the run whose tables hold the document's
current triples; for a deleted document, the run that noticed the deletion) and `status`
(`current` | `deleted`). Deleted documents stay listed so a knowledge-graph loader can retract
their statements whenever it next catches up. The Arrow metadata carries a JSON header: format
version, a generation counter (a commit refuses to overwrite a manifest that changed since it
was loaded: two runs on one output must not interleave), the settings of the last run (a change
of model or pipeline settings makes every document `changed`) and the history of runs.

Light by design: pyarrow and fsspec only, so the knowledge-graph loader can read it too.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from polyrel.schemas.records import Document
from polyrel.schemas.tables import content_id

MANIFEST_NAME = "_manifest.parquet"
PLAN_NAME = "_plan.parquet"
RUNS_DIR = "runs"
MANIFEST_VERSION = 1
CURRENT = "current"
DELETED = "deleted"
_HEADER_KEY = b"polyrel.manifest"

MANIFEST_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("content_hash", pa.string(), nullable=False),
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
])


PLAN_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("content_hash", pa.string(), nullable=False),
    pa.field("action", pa.string(), nullable=False),  # new | changed | unchanged | deleted
])


class ManifestConflict(RuntimeError):
    """The manifest on disk changed between this run's load and its commit."""


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def manifest_path(out_dir: str) -> str:
    return _join(out_dir, MANIFEST_NAME)


def plan_path(out_dir: str, run_id: str) -> str:
    return _join(run_dir(out_dir, run_id), PLAN_NAME)


def run_dir(out_dir: str, run_id: str) -> str:
    """Where run `run_id` writes its tables: `<out>/runs/<run_id>`."""
    return _join(out_dir, RUNS_DIR, run_id)


def table_dir(out_dir: str, run_id: str, table: str) -> str:
    """`<out>/runs/<run_id>/<table>` (table: triples | entities | errors | files)."""
    return _join(run_dir(out_dir, run_id), table)


def document_hash(document: Document) -> str:
    """What the triples of a document depend on: its text, language and given entities (not meta)."""
    entities = None if document.entities is None else [[e.start, e.end, e.type] for e in document.entities]
    return content_id("document", document.text, document.lang, entities)


def combine_hashes(hashes: Sequence[str]) -> str:
    """One hash for a document id that occurs several times in the input (order-independent)."""
    return hashes[0] if len(hashes) == 1 else content_id("duplicates", sorted(hashes))


@dataclass(frozen=True)
class Entry:
    doc_id: str
    content_hash: str
    run_id: str
    status: str = CURRENT


@dataclass(frozen=True)
class RunPlan:
    """The input sorted against the manifest. Every tuple is sorted by document id."""

    new: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    deleted: tuple[str, ...]
    hashes: Mapping[str, str] = field(repr=False)  # every input document's content hash
    full: bool = False
    settings_changed: bool = False
    settings: Mapping[str, Any] | None = None
    base_generation: int = 0  # the manifest generation this plan was made against

    @property
    def to_process(self) -> tuple[str, ...]:
        """The documents this run must (re)process: all of them on a full run."""
        if self.full:
            return tuple(sorted(self.hashes))
        return tuple(sorted((*self.new, *self.changed)))

    @property
    def is_empty(self) -> bool:
        """Nothing to process and nothing to retract: the run need not write anything."""
        return not self.to_process and not self.deleted

    def save(self, out_dir: str, run_id: str) -> str:
        """Write the plan to `<out>/runs/<run_id>/_plan.parquet` (read by workers and by the commit)."""
        action = {**dict.fromkeys(self.unchanged, "unchanged"), **dict.fromkeys(self.new, "new"),
                  **dict.fromkeys(self.changed, "changed")}
        rows = [{"doc_id": d, "content_hash": self.hashes[d], "action": action[d]} for d in sorted(self.hashes)]
        rows += [{"doc_id": d, "content_hash": "", "action": "deleted"} for d in self.deleted]
        header = {"version": MANIFEST_VERSION, "run_id": run_id, "full": self.full,
                  "settings_changed": self.settings_changed, "settings": self.settings,
                  "base_generation": self.base_generation}
        schema = PLAN_SCHEMA.with_metadata({_HEADER_KEY: json.dumps(header, sort_keys=True).encode()})
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer, compression="zstd")
        path = plan_path(out_dir, run_id)
        atomic_write(path, buffer.getvalue())
        return path

    @classmethod
    def load(cls, out_dir: str, run_id: str) -> RunPlan:
        data = _read_bytes(plan_path(out_dir, run_id))
        if data is None:
            raise FileNotFoundError(f"no plan at {plan_path(out_dir, run_id)}")
        table = pq.read_table(io.BytesIO(data))
        header = json.loads(table.schema.metadata[_HEADER_KEY])
        groups: dict[str, list[str]] = {"new": [], "changed": [], "unchanged": [], "deleted": []}
        hashes = {}
        for row in table.to_pylist():
            groups[row["action"]].append(row["doc_id"])
            if row["action"] != "deleted":
                hashes[row["doc_id"]] = row["content_hash"]
        return cls(tuple(groups["new"]), tuple(groups["changed"]), tuple(groups["unchanged"]), tuple(groups["deleted"]),
                   hashes, header["full"], header["settings_changed"], header["settings"], header["base_generation"])

    def summary(self) -> str:
        text = (f"{len(self.new)} new, {len(self.changed)} changed, {len(self.unchanged)} unchanged, "
                f"{len(self.deleted)} deleted")
        if self.full:
            text += f"; --full: reprocessing all {len(self.hashes)}"
        elif self.settings_changed:
            text += " (settings changed since the last run: everything counts as changed)"
        return text


def _read_bytes(url: str) -> bytes | None:
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as handle:
        return handle.read()


def atomic_write(url: str, data: bytes) -> None:
    """Replace the file at `url` with `data` so a reader sees the old or the new bytes, never a mix.

    Local files: write a temporary file in the same directory, fsync, `os.replace`. Object stores
    (gs://, s3://, memory://): a single-object write is already atomic, so the bytes go straight in.
    """
    fs, path = fsspec.core.url_to_fs(url)
    if not isinstance(fs, LocalFileSystem):
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        fs.pipe_file(path, data)
        return
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


@dataclass
class Manifest:
    """The documents an output holds. Load it, plan a run, commit the run; see the module doc."""

    out_dir: str
    entries: dict[str, Entry] = field(default_factory=dict)  # current documents
    deleted: dict[str, Entry] = field(default_factory=dict)  # documents gone from the input
    generation: int = 0  # 0: no manifest on disk yet
    settings: dict[str, Any] | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)  # committed runs, oldest first

    @property
    def path(self) -> str:
        return manifest_path(self.out_dir)

    @classmethod
    def load(cls, out_dir: str) -> Manifest:
        """The output's manifest, or an empty one (generation 0) if it has none."""
        data = _read_bytes(manifest_path(out_dir))
        if data is None:
            return cls(out_dir)
        table = pq.read_table(io.BytesIO(data))
        header = json.loads((table.schema.metadata or {}).get(_HEADER_KEY, b"{}"))
        if header.get("version") != MANIFEST_VERSION:
            raise ValueError(f"{manifest_path(out_dir)}: unsupported manifest version {header.get('version')!r}")
        manifest = cls(out_dir, generation=int(header["generation"]), settings=header.get("settings"),
                       runs=list(header.get("runs", [])))
        for row in table.to_pylist():
            entry = Entry(row["doc_id"], row["content_hash"], row["run_id"], row["status"])
            (manifest.entries if entry.status == CURRENT else manifest.deleted)[entry.doc_id] = entry
        return manifest

    def plan(self, documents: Mapping[str, str] | Iterable[tuple[str, str]], *, full: bool = False,
             settings: Mapping[str, Any] | None = None) -> RunPlan:
        """Sort `(doc_id, content_hash)` pairs (or a mapping) against this manifest.

        A document id given more than once gets one combined hash. `settings` (model id,
        NER backend, thresholds…) that differ from the last committed run's make every
        known document `changed`.
        """
        hashes = _collect(documents)
        settings_changed = (settings is not None and bool(self.entries)
                            and _jsonable(settings) != self.settings)
        new, changed, unchanged = [], [], []
        for doc_id in sorted(hashes):
            entry = self.entries.get(doc_id)
            if entry is None:
                new.append(doc_id)
            elif settings_changed or entry.content_hash != hashes[doc_id]:
                changed.append(doc_id)
            else:
                unchanged.append(doc_id)
        deleted = tuple(sorted(set(self.entries) - set(hashes)))
        return RunPlan(tuple(new), tuple(changed), tuple(unchanged), deleted, hashes, full, settings_changed,
                       None if settings is None else _jsonable(settings), self.generation)

    def commit(self, plan: RunPlan, run_id: str, *, stats: Mapping[str, Any] | None = None) -> Manifest:
        """Record a successful run and atomically replace the manifest; returns the new manifest.

        Call only after every table of the run is written. Raises `ManifestConflict` if another
        run committed since the plan was made (nothing is written then). Committing the same run
        again (a retried step) returns the manifest it already committed.
        """
        on_disk = Manifest.load(self.out_dir)
        if (on_disk.generation == plan.base_generation + 1 and on_disk.runs
                and on_disk.runs[-1]["run_id"] == run_id):
            return on_disk
        if on_disk.generation != self.generation or plan.base_generation != self.generation:
            raise ManifestConflict(
                f"{self.path} changed since this run was planned (generation {plan.base_generation} → "
                f"{on_disk.generation}): another run committed meanwhile; re-plan and run again")
        entries = dict(self.entries)
        deleted = dict(self.deleted)
        for doc_id in plan.to_process:
            entries[doc_id] = Entry(doc_id, plan.hashes[doc_id], run_id)
            deleted.pop(doc_id, None)
        for doc_id in plan.deleted:
            old = entries.pop(doc_id)
            deleted[doc_id] = Entry(doc_id, old.content_hash, run_id, DELETED)
        record = {
            "run_id": run_id,
            "committed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "full": plan.full,
            "new": len(plan.new), "changed": len(plan.changed), "unchanged": len(plan.unchanged),
            "deleted": len(plan.deleted), "processed": len(plan.to_process),
            **({"stats": _jsonable(stats)} if stats else {}),
        }
        settings = _jsonable(plan.settings) if plan.settings is not None else self.settings
        result = Manifest(self.out_dir, entries, deleted, self.generation + 1, settings, [*self.runs, record])
        atomic_write(self.path, result._to_parquet())
        return result

    def run_of(self, doc_id: str) -> str | None:
        """The run whose tables hold the document's current triples (None: unknown or deleted)."""
        entry = self.entries.get(doc_id)
        return entry.run_id if entry else None

    def documents_by_run(self) -> dict[str, list[str]]:
        """Current documents grouped by the run that holds them."""
        grouped: dict[str, list[str]] = {}
        for entry in self.entries.values():
            grouped.setdefault(entry.run_id, []).append(entry.doc_id)
        return {run: sorted(ids) for run, ids in sorted(grouped.items())}

    def referenced_runs(self) -> set[str]:
        return {entry.run_id for entry in self.entries.values()}

    def unreferenced_runs(self) -> list[str]:
        """Run directories no current document points to: superseded or crashed runs.

        Safe to delete once every knowledge-graph store fed from this output has caught up,
        and only when no run is in progress (a running run is unreferenced until it commits).
        """
        fs, path = fsspec.core.url_to_fs(_join(self.out_dir, RUNS_DIR))
        if not fs.exists(path):
            return []
        present = {p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(path, detail=False)}
        return sorted(present - self.referenced_runs())

    def _to_parquet(self) -> bytes:
        rows = [vars(e) for e in sorted([*self.entries.values(), *self.deleted.values()], key=lambda e: e.doc_id)]
        header = {"version": MANIFEST_VERSION, "generation": self.generation, "settings": self.settings,
                  "runs": self.runs}
        schema = MANIFEST_SCHEMA.with_metadata({_HEADER_KEY: json.dumps(header, sort_keys=True).encode()})
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer, compression="zstd")
        return buffer.getvalue()


def commit_run(out_dir: str, run_id: str, stats: Mapping[str, Any] | None = None) -> Manifest:
    """Commit run `run_id` from its saved plan: what the pipeline's last step (or the driver) calls."""
    plan = RunPlan.load(out_dir, run_id)
    return Manifest.load(out_dir).commit(plan, run_id, stats=stats)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _collect(documents: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    pairs = documents.items() if isinstance(documents, Mapping) else documents
    seen: dict[str, list[str]] = {}
    for doc_id, digest in pairs:
        seen.setdefault(doc_id, []).append(digest)
    return {doc_id: combine_hashes(digests) for doc_id, digests in seen.items()}


def scan_documents(inputs: Sequence[str], max_doc_chars: int) -> Iterator[tuple[str, str]]:
    """`(doc_id, content_hash)` of every readable document in the inputs, read on the driver.

    Uses the pipeline's own reader and its rule for a repeated id (the first by source position
    is the document), so a run plans exactly the documents its pipeline will process; records
    that are dead letters there are skipped here (they hold no triples).
    """
    from polyrel.schemas.records import DeadLetter
    from polyrel.transforms.read import ReadFile, expand_input, first_by_position

    reader = ReadFile(max_doc_chars)
    found: dict[str, list[Document]] = {}
    for pattern in inputs:
        for file in expand_input(pattern):
            if isinstance(file, DeadLetter):
                continue
            for item in reader.process(file):
                if isinstance(item, Document):
                    found.setdefault(item.id, []).append(item)
    for doc_id, documents in found.items():
        yield doc_id, document_hash(first_by_position(documents))
