"""Stage 5: score pair candidates with the relation model through Beam's RunInference.

Batching is done here, not by RunInference's BatchElements: pairs are keyed by a length
bucket (sentence tokens, rounded up to a power of two) plus a spreading shard, grouped, sorted
by length and cut into batches, which go to RunInference pre-batched (`with_no_batching`).
Batches therefore hold pairs of similar length (little padding; the predictor sorts again by
encoded length inside a batch) with each pair beside its mirror (one encoder pass for both
under type markers), and the result does not depend on bundle boundaries
(BatchElements flushes in `finish_bundle`, whose output DaskRunner drops).

The model is loaded once per worker process by RunInference's `shared.Shared` handle and used
by all threads of that process; on a GPU the predictor runs bf16 autocast, on CPU float32.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
import fsspec
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from polyrel.model import backbone
from polyrel.model.data import Entity
from polyrel.model.modeling import RelationModelConfig
from polyrel.model.predictor import PairPrediction, PairQuery, RelationPredictor
from polyrel.schemas.records import DeadLetter, PairCandidate, Triple
from polyrel.transforms.deadletters import count, dead_letter, split_dead_letters
from polyrel.transforms.words import model_words

STAGE = "relations"


def local_model_dir(model_dir: str) -> str:
    """A local copy of a model directory given as a URL (gs://, s3://…); local paths as they are.

    Copies live in the per-user polyrel home (`models/<hash of the URL>`, readable by its owner
    only), written to a fresh folder and renamed into place with a manifest of each file's
    sha256; a copy is reused only when every file still matches it, else fetched again.
    """
    if "://" not in model_dir or model_dir.startswith("file://"):
        return model_dir.removeprefix("file://")
    from polyrel.model.encoders import polyrel_home

    cache = polyrel_home() / "models"
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = cache / hashlib.sha256(model_dir.encode()).hexdigest()[:16]
    if _intact(target):
        return str(target)
    fresh = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache))
    fs, path = fsspec.core.url_to_fs(model_dir)
    fs.get(path.rstrip("/") + "/", str(fresh), recursive=True)
    digests = {p.name: _sha256(p) for p in sorted(fresh.iterdir()) if p.is_file()}
    (fresh / MANIFEST).write_text(json.dumps(digests, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(fresh, target)
    except OSError:  # another worker put its copy in place first
        shutil.rmtree(fresh, ignore_errors=True)
        if not _intact(target):
            raise
    return str(target)


MANIFEST = ".polyrel-files.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _intact(directory: Path) -> bool:
    """Whether a cached copy holds exactly the files its manifest lists, unchanged."""
    try:
        digests = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        present = {p.name for p in directory.iterdir() if p.is_file() and p.name != MANIFEST}
        return present == set(digests) and all(_sha256(directory / n) == d for n, d in digests.items())
    except (OSError, ValueError, AttributeError):
        return False


def load_config(model_dir: str) -> RelationModelConfig:
    """The model's config (labels, entity types, type pairs, id), needed to build the graph: read
    from `config.json` alone, no weights loaded."""
    return backbone.load_config(RelationModelConfig, Path(local_model_dir(model_dir)) / backbone.CONFIG_NAME)


def to_query(pair: PairCandidate, cjk_words: str = "segmenter") -> PairQuery:
    """The pair as the model reads it: the sentence's words and both entities as word spans.
    `cjk_words`: "segmenter" joins Chinese/Japanese characters into dictionary words (see
    transforms/words.py), "characters" reads one word per character."""
    mentions = (pair.head, pair.tail)
    spans = [(m.token_start, m.token_end) for m in mentions]
    if cjk_words == "segmenter":
        words, spans = model_words(pair.sentence, spans)
    else:
        words = tuple(t.text for t in pair.sentence.tokens)
    head, tail = (Entity(*span, m.type, m.start, m.end) for span, m in zip(spans, mentions))
    return PairQuery(words, head, tail)


class RelationModelHandler(ModelHandler[PairCandidate, PredictionResult, RelationPredictor]):
    """polyrel's relation model for RunInference: pair candidates in, decided labels (or why skipped) out."""

    def __init__(
        self, model_dir: str, threshold: float | None, batch_size: int, device: str | None = None,
        cjk_words: str = "segmenter", precision: str = "auto",
    ) -> None:
        super().__init__()
        self.model_dir = model_dir
        self.threshold = threshold
        self.batch_size = batch_size
        self.device = device
        self.cjk_words = cjk_words
        self.precision = precision

    def load_model(self) -> RelationPredictor:
        return RelationPredictor.load(local_model_dir(self.model_dir), self.device, self.precision)

    def run_inference(
        self, batch: Sequence[PairCandidate], model: RelationPredictor, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        predictions = model.predict([to_query(pair, self.cjk_words) for pair in batch], self.batch_size, self.threshold)
        return [PredictionResult(pair, prediction, model.config.model_id) for pair, prediction in zip(batch, predictions)]

    def get_num_bytes(self, batch: Sequence[PairCandidate]) -> int:
        return sum(len(p.sentence.text.encode()) for p in batch)

    def get_metrics_namespace(self) -> str:
        return "polyrel.RunInference"


def length_bucket(pair: PairCandidate) -> int:
    """Sentence length in tokens rounded up to a power of two (1, 2, 4, … as bit lengths)."""
    return pair.token_count.bit_length()


def batch_order(pair: PairCandidate) -> tuple[int, str, int, int, int, int]:
    """Length first; within a sentence a pair sits next to its mirror, so the two share a batch
    and, with type markers, one encoder pass (`RelationModel.summaries`)."""
    a, b = sorted((pair.head.start, pair.tail.start))
    return pair.token_count, pair.sentence.doc_id, pair.sentence.index, a, b, pair.head.start


def batch_by_length(keyed: tuple[tuple[int, int], Iterable[PairCandidate]], batch_size: int) -> Iterator[list[PairCandidate]]:
    pairs = sorted(keyed[1], key=batch_order)
    for i in range(0, len(pairs), batch_size):
        yield pairs[i:i + batch_size]


def to_triples(result: PredictionResult) -> Iterator[Triple | DeadLetter]:
    pair: PairCandidate = result.example
    prediction: PairPrediction = result.inference
    if prediction.skipped:
        yield dead_letter(DeadLetter(pair.sentence.doc_id, STAGE, prediction.skipped,
                                     f"{pair.head.text} [{pair.head.start}, {pair.head.end}) → "
                                     f"{pair.tail.text} [{pair.tail.start}, {pair.tail.end})"))
        return
    for label, score in prediction.labels:
        count("relations")
        yield Triple(pair, label, score)


class ClassifyRelations(beam.PTransform):
    """Pair candidates → (triples, dead letters)."""

    def __init__(self, handler: RelationModelHandler, spread: int = 16) -> None:
        super().__init__()
        self.handler = handler
        self.spread = spread  # shards per length bucket, so one bucket is not one worker's job

    def expand(self, pairs: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        spread, batch_size = self.spread, self.handler.batch_size
        batches = (
            pairs
            | "KeyByLength" >> beam.Map(
                lambda p: ((length_bucket(p), zlib.crc32(f"{p.sentence.doc_id}\x1f{p.sentence.index}".encode()) % spread), p))
            | "GroupByLength" >> beam.GroupByKey()
            | "Batch" >> beam.FlatMap(batch_by_length, batch_size)
        )
        results = batches | "RunInference" >> RunInference(self.handler.with_no_batching())
        return split_dead_letters(results | "ToTriples" >> beam.FlatMap(to_triples), "ToTriples")
