"""Stage 5: score each sentence's candidate pairs with the relation model through Beam's RunInference.

Batching is done here, not by RunInference's BatchElements (which flushes in `finish_bundle`,
whose output DaskRunner drops). Sentences (`SentencePairs`: one record per sentence, never one
per pair) are keyed by a length bucket (tokens rounded up to a power of two) and a shard, grouped,
and each group is cut into batches of at most `batch_size` pairs as it streams by: nothing sorts
or holds a whole group, so a worker holds one batch at a time whatever the corpus size (the
model sorts a batch's inputs by length and runs them `encoder_batch` at a time), and the
number of keys (the inference stage's parallelism) grows with the input through the shard count
(`shards_for`). A sentence's pairs stay together where they fit, a pair beside its mirror (one
encoder pass for both under type markers).

The model is loaded once per worker process by RunInference's `shared.Shared` handle and used
by all threads of that process, in bf16 where the device computes it natively.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from polyrel import progress
from polyrel.model.encoders import backbone
from polyrel.model.relation.modeling import RelationModelConfig
from polyrel.model.relation.pairs import orient
from polyrel.model.relation.predictor import PairPrediction, PairQuery, RelationPredictor
from polyrel.schemas.records import DeadLetter, PairCandidate, SentencePairs, Triple
from polyrel.transforms.batching import budget_batches
from polyrel.transforms.deadletters import NAMESPACE, count, dead_letter, split_dead_letters
from polyrel.transforms.model_dirs import local_model_dir
from polyrel.transforms.words import model_words

STAGE = "relations"


def load_config(model_dir: str) -> RelationModelConfig:
    """The model's config (labels, entity types, type pairs, id), needed to build the graph: read
    from `config.json` alone, no weights loaded."""
    return backbone.load_config(RelationModelConfig, Path(local_model_dir(model_dir)) / backbone.CONFIG_NAME)


def to_query(pair: PairCandidate, cjk_words: str = "segmenter") -> PairQuery:
    """The pair as the model reads it: the sentence's words and both entities as word spans.
    `cjk_words`: "segmenter" joins Chinese/Japanese characters into dictionary words (see
    transforms/words.py), "characters" reads one word per character."""
    mentions = (pair.head, pair.tail)
    spans = [m.token_span for m in mentions]
    if cjk_words == "segmenter":
        words, spans = model_words(pair.sentence, spans)
    else:
        words = tuple(t.text for t in pair.sentence.tokens)
    head, tail = (replace(m, token_start=start, token_end=end) for (start, end), m in zip(spans, mentions))
    return PairQuery(words, head, tail)


class RelationModelHandler(ModelHandler[SentencePairs, PredictionResult, RelationPredictor]):
    """polyrel's relation model for RunInference: sentences with candidate pairs in, each pair's
    decided labels (or why it was skipped) out."""

    def __init__(
        self, model_dir: str, threshold: float | None, batch_size: int, device: str | None = None,
        cjk_words: str = "segmenter", precision: str = "auto", encoder_batch: int = 32,
    ) -> None:
        super().__init__()
        self.model_dir = model_dir
        self.threshold = threshold
        self.batch_size = batch_size
        self.device = device
        self.cjk_words = cjk_words
        self.precision = precision
        self.encoder_batch = encoder_batch

    def load_model(self) -> RelationPredictor:
        return RelationPredictor.load(local_model_dir(self.model_dir), self.device, self.precision)

    def run_inference(
        self, batch: Sequence[SentencePairs], model: RelationPredictor, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        queries = [to_query(pair, self.cjk_words) for item in batch for pair in item.candidates()]
        predictions = iter(model.predict(queries, self.encoder_batch, self.threshold))
        progress.tick("relations", len(queries), unit="pair")
        return [PredictionResult(item, tuple(next(predictions) for _ in item.pairs), model.config.model_id) for item in batch]

    def get_num_bytes(self, batch: Sequence[SentencePairs]) -> int:
        return sum(len(item.sentence.text.encode()) for item in batch)

    def get_metrics_namespace(self) -> str:
        return "polyrel.RunInference"


SHARD_BYTES = 1 << 20  # input bytes per inference shard
MAX_SHARDS = 4096


def shards_for(input_bytes: int) -> int:
    """Shards per length bucket: 16 for small inputs, one per MiB of input beyond that (at most
    4,096), so the inference stage's keys, and the workers that can share it, grow with the corpus."""
    return min(max(16, input_bytes // SHARD_BYTES), MAX_SHARDS)


def batch_key(item: SentencePairs, shards: int) -> tuple[int, int]:
    """(length bucket: tokens rounded up to a power of two as a bit length, shard by sentence)."""
    sentence = item.sentence
    return item.token_count.bit_length(), zlib.crc32(f"{sentence.doc_id}\x1f{sentence.index}".encode()) % shards


BATCH_PAIRS = Metrics.distribution(NAMESPACE, "batch_pairs")  # pairs per inference batch, for the bound's test


def stream_batches(keyed: tuple[tuple[int, int], Iterable[SentencePairs]], max_pairs: int) -> Iterator[list[SentencePairs]]:
    """Batches of at most `max_pairs` pairs from a group, read as it streams (never held whole); a
    sentence with more pairs is split into parts that fit."""
    parts = (part for item in keyed[1] for part in item.split(max_pairs))
    for batch in budget_batches(parts, lambda part: len(part.pairs), max_pairs):
        BATCH_PAIRS.update(sum(len(part.pairs) for part in batch))
        yield batch


def to_triples(result: PredictionResult) -> Iterator[Triple | DeadLetter]:
    item: SentencePairs = result.example
    predictions: Sequence[PairPrediction] = result.inference
    for pair, prediction in zip(item.candidates(), predictions):
        if prediction.skipped:
            yield dead_letter(DeadLetter(pair.sentence.doc_id, STAGE, prediction.skipped,
                                         f"{pair.head.text} [{pair.head.start}, {pair.head.end}) → "
                                         f"{pair.tail.text} [{pair.tail.start}, {pair.tail.end})"))
            continue
        for output, score in prediction.labels:
            label, backward = orient(output)  # an unordered model's label may run tail → head
            count("relations")
            yield Triple(PairCandidate(pair.sentence, pair.tail, pair.head) if backward else pair, label, score)


class ClassifyRelations(beam.PTransform):
    """Sentences with candidate pairs → (triples, dead letters)."""

    def __init__(self, handler: RelationModelHandler, shards: int = 16) -> None:
        super().__init__()
        self.handler = handler
        self.shards = shards

    def expand(self, sentences: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        shards, batch_size = self.shards, self.handler.batch_size
        batches = (
            sentences
            | "KeyByLength" >> beam.Map(lambda item: (batch_key(item, shards), item))
            | "GroupByLength" >> beam.GroupByKey()
            | "Batch" >> beam.FlatMap(stream_batches, batch_size)
        )
        results = batches | "RunInference" >> RunInference(self.handler.with_no_batching())
        return split_dead_letters(results | "ToTriples" >> beam.FlatMap(to_triples), "ToTriples")
