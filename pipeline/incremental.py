"""`polyrel run --incremental` / `--full`: process only what changed since the last committed run.

    driver: plan: read the inputs, hash each document, compare with <out>/_manifest.parquet
            → nothing new, changed or deleted: say so, write nothing
            → save the plan to <out>/runs/<run_id>/_plan.parquet and launch the job
    job:    Read → Select (documents the plan lists to process) → … → tables under
            <out>/runs/<run_id>/ → Finish: commit the manifest (its last step, once every
            table is final). The commit is part of the job, so runners whose launcher does not
            wait (Dataflow templates, detached Flink submission) still commit exactly once; a
            job that fails leaves the previous manifest in place.

The settings that shape the triples (model files, NER backend and model, thresholds, pair filters, CJK words, `--lang`) are
recorded with the manifest; a run with different settings reprocesses every document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import apache_beam as beam
import fsspec

from polyrel.pipeline.options import RunOptions
from polyrel.schemas.manifest import Manifest, RunPlan, commit_run, run_dir, scan_documents
from polyrel.schemas.records import Document
from polyrel.schemas.tables import content_id
from polyrel.transforms.deadletters import count


def model_fingerprint(model: str) -> str:
    """The model directory's config.json bytes plus every file's name and size (cheap; no weight hashing)."""
    fs, path = fsspec.core.url_to_fs(model)
    files = sorted((info["name"].rsplit("/", 1)[-1], int(info.get("size") or 0))
                   for info in fs.ls(path, detail=True) if info.get("type") == "file")
    config = fs.cat_file(f"{path.rstrip('/')}/config.json") if fs.exists(f"{path.rstrip('/')}/config.json") else b""
    return content_id("model", config.decode("utf-8", "replace"), files)


def run_settings(options: RunOptions) -> dict[str, Any]:
    """What, besides a document's content, decides its triples."""
    return {
        "model": model_fingerprint(options.model),
        "ner": options.ner,
        "ner_model": model_fingerprint(options.ner_model) if options.ner == "polyrel" and options.ner_model else None,
        "stanza_dir": options.stanza_dir,
        "lang": options.lang,
        "max_entities": options.max_entities,
        "max_pair_distance": options.max_pair_distance,
        "max_pairs_per_doc": options.max_pairs_per_doc,
        "restrict_type_pairs": options.restrict_type_pairs,
        "threshold": options.threshold,
        "min_entity_score": options.min_entity_score,
        "cjk_words": options.cjk_words,
        "max_doc_chars": options.max_doc_chars,
        "precision": options.precision,
    }


class SelectPlanned(beam.DoFn):
    """Keeps the documents the run's saved plan says to process (the id set is read once per worker)."""

    def __init__(self, out_dir: str, run_id: str) -> None:
        self.out_dir, self.run_id = out_dir, run_id
        self.ids: frozenset[str] | None = None

    def setup(self) -> None:
        plan = RunPlan.load(self.out_dir, self.run_id)
        self.ids = None if plan.full else frozenset(plan.to_process)

    def process(self, document: Document) -> Iterator[Document]:
        if self.ids is None or document.id in self.ids:
            count("documents_selected")
            yield document
        else:
            count("documents_unchanged")


def _commit(keyed: tuple[None, Iterable[str]], out_dir: str, run_id: str) -> str:
    return commit_run(out_dir, run_id).path


class CommitManifest(beam.PTransform):
    """Written file paths → (once all are in) the committed manifest's path."""

    def __init__(self, out_dir: str, run_id: str) -> None:
        super().__init__()
        self.out_dir, self.run_id = out_dir, run_id

    def expand(self, written: beam.PCollection) -> beam.PCollection:
        return (
            written
            | "OneKey" >> beam.Map(lambda path: (None, path))
            | "AllWritten" >> beam.GroupByKey()
            | "Commit" >> beam.Map(_commit, self.out_dir, self.run_id)
        )


def submit(options: RunOptions, select: beam.PTransform, finish: beam.PTransform) -> Any:
    """Launch the job and return at once (its last step commits the manifest): for launchers that
    must not wait, like a Dataflow flex template's."""
    from polyrel.pipeline.run import build
    from polyrel.transforms.relations import load_config

    pipeline = beam.Pipeline(options=options.pipeline_options())
    build(pipeline, options, load_config(options.model), select, finish)
    return pipeline.run()


def run_incremental(options: RunOptions, *, full: bool = False, wait: bool = True) -> int:
    """Plan, run only what changed and commit; `wait=False` submits the job and returns."""
    from polyrel.pipeline.run import run
    from polyrel.pipeline.summary import summarise

    out = options.output.rstrip("/")
    manifest = Manifest.load(out)
    plan = manifest.plan(scan_documents(options.inputs, options.max_doc_chars), full=full,
                         settings=run_settings(options))
    print(f"plan: {plan.summary()}")
    if plan.is_empty:
        print(f"nothing to do: no new, changed or deleted documents; nothing written to {out}")
        return 0
    run_id = options.run_id
    target = run_dir(out, run_id)
    plan.save(out, run_id)
    if plan.to_process:
        hooks = {"select": beam.ParDo(SelectPlanned(out, run_id)), "finish": CommitManifest(out, run_id)}
        if not wait:
            submit(replace(options, output=target), **hooks)
            print(f"submitted run {run_id}: its last step commits {out}/_manifest.parquet")
            return 0
        report = run(replace(options, output=target), **hooks)
        print(summarise(target, report.counters))
    else:  # deletions only: no job to run
        commit_run(out, run_id)
    if plan.deleted:
        print(f"deleted: {len(plan.deleted)} documents recorded in the manifest for retraction")
    manifest = Manifest.load(out)
    committed = bool(manifest.runs) and manifest.runs[-1]["run_id"] == run_id
    print(f"manifest: {manifest.path} (generation {manifest.generation}, {len(manifest.entries)} documents"
          + (f", run {run_id} committed)" if committed else f"; run {run_id} not committed yet)"))
    return 0
