"""Building the Beam graph from `RunOptions`, running it, and reading back what it did.

    Read → Sentences → Entities → Pairs → Relations (RunInference) → triples/
     │                            └→ entities/            every stage's dead letters → errors/
     └→ files/ (records, documents and dead letters of each input file)

The graph ends in one Flatten of the three tables' final file lists: DaskRunner computes
only the last transform's result, so every sink must feed it.
"""

from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.runner import PipelineResult

from polyrel import progress
from polyrel.model.relation.modeling import RelationModelConfig
from polyrel.pipeline.options import RunOptions
from polyrel.schemas import tables
from polyrel.schemas.records import AnnotatedDocument
from polyrel.transforms.deadletters import NAMESPACE
from polyrel.transforms.entities import DetectEntities
from polyrel.transforms.pairs import EnumeratePairs
from polyrel.transforms.read import ReadDocuments
from polyrel.transforms.relations import ClassifyRelations, RelationModelHandler, load_config, shards_for
from polyrel.transforms.sentences import SplitSentences
from polyrel.transforms.write import WriteTable


def entity_rows(document: AnnotatedDocument, run_id: str) -> list[dict]:
    return [tables.entity_row(sentence, m, run_id) for sentence in document.sentences for m in sentence.entities]


def build(pipeline: beam.Pipeline, options: RunOptions, config: RelationModelConfig,
          select: beam.PTransform | None = None, finish: beam.PTransform | None = None) -> beam.PCollection:
    """Apply the whole job to `pipeline`; returns the PCollection of written file paths.

    Incremental runs (pipeline/incremental.py) hook in twice: `select` filters the documents
    read, `finish` consumes the written paths (commits the manifest) and becomes the last step.
    """
    run_id, out = options.run_id, options.output.rstrip("/")
    read = ReadDocuments(options.inputs, options.max_doc_chars)
    documents, read_errors, file_counts = pipeline | "Read" >> read
    if select is not None:
        documents = documents | "Select" >> select
    segmented, sentence_errors = documents | "Sentences" >> SplitSentences(options.stanza_dir, options.lang)
    shards = options.inference_shards or shards_for(read.input_bytes)
    annotated, entity_errors = segmented | "Entities" >> DetectEntities(
        options.ner, options.ner_settings(), shards, device=options.device)
    pairs, pair_errors = annotated | "Pairs" >> EnumeratePairs(options.pair_filter(config))
    handler = RelationModelHandler(options.model, options.threshold, options.batch_size, options.device, options.cjk_words,
                                   options.precision, options.encoder_batch)
    triples, relation_errors = pairs | "Relations" >> ClassifyRelations(handler, shards)
    errors = (read_errors, sentence_errors, entity_errors, pair_errors, relation_errors) | "Errors" >> beam.Flatten()

    def sink(name: str, schema: pa.Schema, key: tuple[str, ...]) -> WriteTable:
        return WriteTable(f"{out}/{name}", schema, key, run_id, options.num_shards)

    model_id = config.model_id or options.model
    written = (
        triples
        | "TripleRows" >> beam.Map(tables.triple_row, model_id, run_id)
        | "WriteTriples" >> sink("triples", tables.TRIPLES_SCHEMA, tables.SORT_KEYS["triples"]),
        annotated
        | "EntityRows" >> beam.FlatMap(entity_rows, run_id)
        | "WriteEntities" >> sink("entities", tables.ENTITIES_SCHEMA, tables.SORT_KEYS["entities"]),
        errors
        | "ErrorRows" >> beam.Map(tables.error_row, run_id)
        | "WriteErrors" >> sink("errors", tables.ERRORS_SCHEMA, tables.SORT_KEYS["errors"]),
        file_counts
        | "FileRows" >> beam.Map(tables.file_row, run_id)
        | "WriteFiles" >> sink("files", tables.FILES_SCHEMA, tables.SORT_KEYS["files"]),
    )
    written = written | "Written" >> beam.Flatten()
    return written if finish is None else written | "Finish" >> finish


@dataclass(frozen=True)
class RunReport:
    output: str
    run_id: str
    state: str
    counters: dict[str, int] | None  # None where the runner reports no metrics (DaskRunner)


def counters(result: PipelineResult) -> dict[str, int] | None:
    """The `polyrel` counters, committed values where the runner has them."""
    try:
        found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    except NotImplementedError:
        return None
    totals: dict[str, int] = {}
    for c in found:
        value = c.committed if c.committed is not None else c.attempted
        totals[c.key.metric.name] = totals.get(c.key.metric.name, 0) + int(value or 0)
    return dict(sorted(totals.items()))


def run(options: RunOptions, select: beam.PTransform | None = None,
        finish: beam.PTransform | None = None) -> RunReport:
    """Run the job to completion; raises if it fails."""
    config = load_config(options.model)
    pipeline = beam.Pipeline(options=options.pipeline_options())
    build(pipeline, options, config, select, finish)
    result = pipeline.run()
    try:
        state = result.wait_until_finish()
    finally:
        progress.close_counters()
        client = getattr(result, "client", None)  # DaskRunner leaves its dask client open
        if client is not None:
            client.close()
    return RunReport(options.output, options.run_id, str(state), counters(result))
