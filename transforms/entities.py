"""Stage 3: entity mentions for each sentence, from a pluggable NER backend.

A backend maps a document to character spans `[start, end)` with a type; this stage checks
each span, normalises its type to the relation model's vocabulary (the 39 CrossRE types),
places it in its sentence and on token boundaries. Backends are registered by name:
- `given`: the spans the input carries (`entities` in the JSONL record), from any upstream NER;
- `stanza`: stanza's NER, with models from `--stanza-dir` (never downloaded);
- `polyrel`: polyrel's own NER model (`model/ner/modeling.py`), the shipped one unless `--ner-model`
  names another; in the pipeline through RunInference (`NerModelHandler`: loaded once per worker
  process, batched across documents, GPU-capable);
- more via `register_ner_backend`.

Type normalisation (`normalise_type`): lower case, spaces/underscores/hyphens removed,
then `TYPE_MAP` (stanza's CoNLL-03 and OntoNotes labels, US spellings). Numeric and temporal
OntoNotes types map to None and are dropped: CrossRE annotates no such entities.
"""

from __future__ import annotations

import bisect
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from polyrel import progress
from polyrel.schemas.records import (
    AnnotatedDocument,
    DeadLetter,
    Document,
    Entity,
    SegmentedDocument,
    Sentence,
)
from polyrel.transforms import stanza_models
from polyrel.transforms.batching import budget_batches
from polyrel.transforms.deadletters import count, dead_letter, split_dead_letters
from polyrel.transforms.model_dirs import local_model_dir
from polyrel.transforms.segment import token_span

STAGE = "entities"

TYPE_MAP: dict[str, str | None] = {
    # CoNLL-03 style (stanza's 4-class models for most languages)
    "per": "person", "org": "organisation", "loc": "location", "misc": "misc",
    # OntoNotes (stanza's en/zh models): GPE covers cities and states as well as countries,
    # so it maps to the broader `location`
    "gpe": "location", "fac": "location", "norp": "misc", "product": "product", "event": "event",
    "workofart": "misc", "law": "misc", "language": "misc",
    "date": None, "time": None, "percent": None, "money": None, "quantity": None, "ordinal": None,
    "cardinal": None,
    # spelling variants
    "organization": "organisation", "persons": "person", "people": "person",
}


def normalise_type(raw: str) -> str | None:
    key = "".join(c for c in raw.lower() if c not in " _-")
    return TYPE_MAP.get(key, key)


@dataclass(frozen=True)
class NerSettings:
    """What a backend may need; one object so new backends do not change the stage's signature."""

    stanza_dir: str | None = None
    model: str | None = None  # a backend's own model location (the `polyrel` NER)
    precision: str = "auto"  # the `polyrel` NER's compute type (model/precision.py)
    min_score: float | None = None  # the `polyrel` NER's confidence floor; None: the model's own (NerConfig.min_score)


NerBackend = Callable[[Document, str], Sequence[Entity]]  # (document, language) → spans
_BACKENDS: dict[str, Callable[[NerSettings], NerBackend]] = {}


def register_ner_backend(name: str) -> Callable[[Callable[[NerSettings], NerBackend]], Callable[[NerSettings], NerBackend]]:
    """Register a factory `settings → backend` under `name` (the value of `--ner`)."""

    def decorate(factory: Callable[[NerSettings], NerBackend]) -> Callable[[NerSettings], NerBackend]:
        _BACKENDS[name] = factory
        return factory

    return decorate


def ner_backends() -> tuple[str, ...]:
    return tuple(sorted(_BACKENDS))


def create_ner_backend(name: str, settings: NerSettings) -> NerBackend:
    """The backend called `name`; fails early (at graph construction) on unusable settings."""
    if name not in _BACKENDS:
        raise ValueError(f"unknown NER backend {name!r}; registered: {', '.join(ner_backends())}")
    return _BACKENDS[name](settings)


@register_ner_backend("given")
def _given(settings: NerSettings) -> NerBackend:
    def spans(document: Document, lang: str) -> Sequence[Entity]:
        if document.entities is None:
            count("documents_without_entities")
        return document.entities or ()

    return spans


@register_ner_backend("stanza")
def _stanza(settings: NerSettings) -> NerBackend:
    if not settings.stanza_dir:
        raise stanza_models.StanzaModelMissing(
            "--ner stanza needs --stanza-dir; " + stanza_models.how_to_install(None, "<lang>", "tokenize,ner"))

    def spans(document: Document, lang: str) -> Sequence[Entity]:
        parsed = stanza_models.pipeline(settings.stanza_dir, lang, "tokenize,ner")(document.text)
        return [Entity(e.start_char, e.end_char, e.type) for e in parsed.ents]

    return spans


if TYPE_CHECKING:
    from polyrel.model.ner.modeling import EntityRecognizer


class NerModelHandler(ModelHandler[SegmentedDocument, PredictionResult, "EntityRecognizer"]):
    """polyrel's NER model for RunInference: segmented documents in, each one's entity spans out.
    Loaded once per worker process (RunInference's shared handle), batched across documents."""

    def __init__(self, settings: NerSettings, batch_size: int = 32, device: str | None = None) -> None:
        super().__init__()
        if settings.model is None:
            raise ValueError("--ner polyrel needs an NER model directory (--ner-model)")
        self.model_dir = settings.model
        if "://" not in self.model_dir and not Path(self.model_dir, "config.json").is_file():
            raise ValueError(f"--ner polyrel: no NER model at {self.model_dir}; train one with `polyrel ner train`"
                             " and pass --ner-model DIR (or set $POLYREL_NER_MODEL)")
        self.precision = settings.precision
        self.min_score = settings.min_score
        self.batch_size = batch_size
        self.device = device

    def load_model(self) -> EntityRecognizer:
        from polyrel.model.ner.modeling import EntityRecognizer

        return EntityRecognizer.load(local_model_dir(self.model_dir), self.device, self.precision)

    def spans(self, texts: Sequence[str], model: EntityRecognizer) -> list[tuple[Entity, ...]]:
        """The entities of each text that reach the confidence floor (the rest counted, `entities_below_floor`)."""
        floor = model.config.min_score if self.min_score is None else self.min_score
        found = model(list(texts), self.batch_size)
        kept = [tuple(e for e in entities if e.score is None or e.score >= floor) for entities in found]
        count("entities_below_floor", sum(len(a) - len(b) for a, b in zip(found, kept)))
        return kept

    def run_inference(
        self, batch: Sequence[SegmentedDocument], model: EntityRecognizer, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        found = self.spans([s.document.text for s in batch], model)
        progress.tick("entities", len(batch), unit="doc")
        return [PredictionResult(s, spans, model.config.model_id) for s, spans in zip(batch, found)]

    def get_num_bytes(self, batch: Sequence[SegmentedDocument]) -> int:
        return sum(len(s.document.text.encode()) for s in batch)

    def get_metrics_namespace(self) -> str:
        return "polyrel.NER"


@register_ner_backend("polyrel")
def _polyrel(settings: NerSettings) -> NerBackend:
    """The NER model one document at a time (the Python API); the pipeline batches it through RunInference."""
    handler = NerModelHandler(settings)
    loaded: list[EntityRecognizer] = []

    def spans(document: Document, lang: str) -> Sequence[Entity]:
        if not loaded:
            loaded.append(handler.load_model())
        return handler.spans([document.text], loaded[0])[0]

    return spans


def span_problem(start: int, end: int, length: int) -> str | None:
    """What is wrong with `[start, end)` as a span of a text of `length` characters, or None."""
    if start == end:
        return "is empty (start equals end)"
    if end < start:
        return "is reversed (end before start)"
    if start < 0 or end > length:
        return f"lies outside the text ({length} characters)"
    return None


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _mention(text: str, sentence: Sentence, start: int, end: int, etype: str, source: str,
             score: float | None) -> Entity | str:
    """The mention on token boundaries, or why it cannot be placed."""
    span = token_span(sentence.tokens, start, end)
    if span is None:
        return "entity span covers no token"
    return Entity(start, end, etype, score, *span, text=text[start:end], source=source)


def align(
    segmented: SegmentedDocument, spans: Sequence[Entity], source: str
) -> Iterator[Sentence | DeadLetter]:
    """Place spans in their sentences; a span that does not fit is a dead letter, the rest go on.
    A span given again (with another type) is counted and dropped: one entity per span, so one
    triple per (head span, tail span, label). Nested and overlapping spans stay, each an entity."""
    document, sentences = segmented.document, segmented.sentences
    text = document.text
    starts = [s.start for s in sentences]
    found: list[dict[tuple[int, int], Entity]] = [{} for _ in sentences]  # one mention per span: the first type wins
    for span in spans:
        raw = json.dumps({"start": span.start, "end": span.end, "type": span.type}, ensure_ascii=False)
        problem = span_problem(span.start, span.end, len(text))
        if problem:
            yield dead_letter(DeadLetter(document.id, STAGE, f"entity span [{span.start}, {span.end}) {problem}", raw))
            continue
        etype = normalise_type(span.type)
        if etype is None:
            count("entities_dropped_type")
            continue
        if not etype:
            yield dead_letter(DeadLetter(document.id, STAGE, f"entity type {span.type!r} is empty once spaces, '-' and"
                                         " '_' are removed", raw))
            continue
        start, end = _trim(text, span.start, span.end)
        if start == end:
            yield dead_letter(DeadLetter(document.id, STAGE, f"entity span [{span.start}, {span.end}) covers only"
                                         " whitespace", raw))
            continue
        index = bisect.bisect_right(starts, start) - 1
        if index < 0 or end > sentences[index].end:
            yield dead_letter(DeadLetter(document.id, STAGE, f"entity span [{span.start}, {span.end}) is not inside"
                                         " one sentence", raw))
            continue
        mention = _mention(text, sentences[index], start, end, etype, source, span.score)
        if isinstance(mention, str):
            yield dead_letter(DeadLetter(document.id, STAGE, mention, raw))
            continue
        if (mention.start, mention.end) in found[index]:
            count("entities_duplicate_span")
            continue
        found[index][(mention.start, mention.end)] = mention
    for sentence, mentions in zip(sentences, found):
        count("entities", len(mentions))
        yield replace(sentence, entities=tuple(sorted(mentions.values(), key=lambda m: (m.start, m.end, m.type))))


class AnnotateEntities(beam.DoFn):
    def __init__(self, backend: str, settings: NerSettings) -> None:
        self.backend_name = backend
        self.settings = settings

    def setup(self) -> None:
        self.backend = create_ner_backend(self.backend_name, self.settings)

    def process(self, segmented: SegmentedDocument) -> Iterator[AnnotatedDocument | DeadLetter]:
        document = segmented.document
        lang = segmented.sentences[0].lang if segmented.sentences else (document.lang or "und")
        try:
            spans = self.backend(document, lang)
        except stanza_models.StanzaModelMissing as exc:
            yield dead_letter(DeadLetter(document.id, STAGE, str(exc)))
            return
        progress.tick("entities", unit="doc")
        yield from annotate(segmented, spans, self.backend_name)


def annotate(segmented: SegmentedDocument, spans: Sequence[Entity], source: str) -> Iterator[AnnotatedDocument | DeadLetter]:
    """`align`'s dead letters, then the document with its annotated sentences."""
    sentences = []
    for out in align(segmented, spans, source):
        if isinstance(out, DeadLetter):
            yield out
        else:
            sentences.append(out)
    yield AnnotatedDocument(segmented.document.id, tuple(sentences))


def document_batches(keyed: tuple[int, Iterable[SegmentedDocument]], max_chars: int) -> Iterator[list[SegmentedDocument]]:
    """Batches of documents totalling at most `max_chars` characters (a longer document alone),
    read as the group streams by."""
    return budget_batches(keyed[1], lambda segmented: len(segmented.document.text), max_chars)


def annotate_result(result: PredictionResult) -> Iterator[AnnotatedDocument | DeadLetter]:
    return annotate(result.example, result.inference, "polyrel")


class DetectEntities(beam.PTransform):
    """Segmented documents → (documents with the entity mentions of each sentence, dead letters).

    The `polyrel` NER runs through RunInference (`NerModelHandler`), documents grouped by a shard
    key and cut into batches as each group streams by (as the relation stage does, and for the
    same reason: DaskRunner drops what `finish_bundle` emits); other backends run per document.
    """

    def __init__(self, backend: str, settings: NerSettings, shards: int = 16, batch_chars: int = 20_000,
                 device: str | None = None) -> None:
        super().__init__()
        create_ner_backend(backend, settings)  # unknown name or unusable settings fail at launch
        self.backend = backend
        self.settings = settings
        self.shards = shards
        self.batch_chars = batch_chars
        self.device = device

    def expand(self, segmented: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        if self.backend != "polyrel":
            annotated = segmented | "Detect" >> beam.ParDo(AnnotateEntities(self.backend, self.settings))
            return split_dead_letters(annotated, "Detect")
        shards, batch_chars = self.shards, self.batch_chars
        annotated = (
            segmented
            | "KeyByShard" >> beam.Map(lambda s: (zlib.crc32(s.document.id.encode()) % shards, s))
            | "GroupByShard" >> beam.GroupByKey()
            | "Batch" >> beam.FlatMap(document_batches, batch_chars)
            | "RunInference" >> RunInference(NerModelHandler(self.settings, device=self.device).with_no_batching())
            | "Annotate" >> beam.FlatMap(annotate_result)
        )
        return split_dead_letters(annotated, "Detect")
