"""`polyrel run`'s configuration: one typed, frozen dataclass, and the argparse that fills it.

polyrel's own options use hyphens (`--max-pair-distance`); Beam's pipeline options (runner
settings, Dataflow project, Flink master…) pass through untouched after `--beam-args`, so
any runner option Beam knows works without polyrel listing it.
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions

    from polyrel.model.relation.modeling import RelationModelConfig
    from polyrel.transforms.entities import NerSettings
    from polyrel.transforms.pairs import PairFilter

from polyrel.model.choices import PRECISIONS
from polyrel.pipeline import defaults
from polyrel.transforms import segment

# Runners Beam does not resolve by short name.
RUNNER_PATHS = {"DaskRunner": "apache_beam.runners.dask.dask_runner.DaskRunner"}
CJK_WORDS = ("segmenter", "characters")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class RunOptions:
    # the models, resolved here once: None is $POLYREL_MODEL / $POLYREL_NER_MODEL, else the shipped one
    model: str | None = None  # relation model directory (local path or fsspec URL)
    inputs: tuple[str, ...] = field(default_factory=defaults.default_inputs)
    output: str = defaults.DEFAULT_OUTPUT
    ner: str = defaults.DEFAULT_NER
    ner_model: str | None = None  # for --ner polyrel
    stanza_dir: str | None = None
    lang: str | None = None  # language of documents without a tag; None: identified (transforms/language.py)
    # the pair budget (transforms/pairs.py): each overflow is a dead letter naming its cap; None: no cap
    max_entities: int | None = 50  # per sentence
    max_pair_distance: int | None = 100  # tokens between head and tail
    max_pairs_per_doc: int | None = 20_000
    restrict_type_pairs: bool = False
    threshold: float | None = None  # None: the model's own decision (see model.relation.predictor.decide)
    min_entity_score: float | None = None  # the polyrel NER's confidence floor; None: the NER model's own
    cjk_words: str = "segmenter"  # how the relation model reads Chinese/Japanese: transforms/words.py
    max_doc_chars: int = 100_000
    batch_size: int = 256  # pairs per relation inference call: the most a worker holds at a time
    encoder_batch: int = 32  # distinct encoder inputs per forward pass (a pair and its mirror share one)
    num_shards: int = 1
    inference_shards: int | None = None  # shards per length bucket of the inference stage; None: from the input size
    device: str | None = None  # None: cuda if available, else cpu
    precision: str = "auto"  # models' compute type: bf16 where the device has it natively (model/precision.py)
    run_id: str = field(default_factory=new_run_id)
    runner: str = "DirectRunner"
    beam_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", self.model or defaults.default_model_dir())
        if self.ner == "polyrel" and self.ner_model is None:
            object.__setattr__(self, "ner_model", defaults.default_ner_dir())
        for name in ("max_doc_chars", "batch_size", "encoder_batch", "num_shards"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("max_entities", "max_pair_distance", "max_pairs_per_doc"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.inference_shards is not None and self.inference_shards < 1:
            raise ValueError("inference_shards must be at least 1")
        for name in ("threshold", "min_entity_score"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
        if self.cjk_words not in CJK_WORDS:
            raise ValueError(f"cjk_words must be one of {', '.join(CJK_WORDS)}")
        if self.lang is not None and self.stanza_dir is None and segment.base_language(self.lang) not in segment.LANGUAGES:
            raise ValueError(f"lang {self.lang!r} is not one the embedded splitter handles, and no stanza_dir is given")

    def ner_settings(self) -> NerSettings:
        from polyrel.transforms.entities import NerSettings

        return NerSettings(stanza_dir=self.stanza_dir, model=self.ner_model, precision=self.precision,
                           min_score=self.min_entity_score)

    def pair_filter(self, config: RelationModelConfig) -> PairFilter:
        """Which pairs the relation model scores: the model's types and type pairs, within the budget."""
        from polyrel.transforms.pairs import PairFilter

        return PairFilter(
            entity_types=frozenset(config.entity_types),
            type_pairs=frozenset(config.type_pairs) if self.restrict_type_pairs else None,
            max_entities=self.max_entities, max_distance=self.max_pair_distance,
            max_pairs_per_document=self.max_pairs_per_doc, pairs=config.pairs,
        )

    def pipeline_options(self) -> PipelineOptions:
        from apache_beam.options.pipeline_options import PipelineOptions

        runner = RUNNER_PATHS.get(self.runner, self.runner)
        return PipelineOptions([f"--runner={runner}", *self.beam_args])

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunOptions:
        return cls(
            model=args.model,
            ner_model=args.ner_model,
            inputs=tuple(args.inputs) or defaults.default_inputs(),
            output=args.output,
            ner=args.ner,
            stanza_dir=args.stanza_dir,
            lang=args.lang,
            max_entities=none_if_zero(args.max_entities),
            max_pair_distance=none_if_zero(args.max_pair_distance),
            max_pairs_per_doc=none_if_zero(args.max_pairs_per_doc),
            restrict_type_pairs=args.restrict_type_pairs,
            threshold=args.threshold,
            min_entity_score=args.min_entity_score,
            cjk_words=args.cjk_words,
            max_doc_chars=args.max_doc_chars,
            batch_size=args.batch_size,
            encoder_batch=args.encoder_batch,
            num_shards=args.num_shards,
            inference_shards=args.inference_shards,
            device=args.device,
            precision=args.precision,
            run_id=args.run_id or new_run_id(),
            runner=args.runner,
            beam_args=tuple(args.beam_args),
        )


def none_if_zero(value: int | None) -> int | None:
    """A cap given on the command line: 0 turns it off."""
    return None if value == 0 else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = RunOptions.__dataclass_fields__
    parser.add_argument("inputs", nargs="*", help="JSONL/.txt files, directories, globs or fsspec URLs"
                        " (default: the bundled multilingual sample corpus)")
    parser.add_argument("--out", dest="output", default=defaults.DEFAULT_OUTPUT,
                        help="output directory or URL: triples/, entities/, errors/ (default: %(default)s)")
    parser.add_argument("--model", help=f"relation model directory (default: ${defaults.MODEL_ENV}, else the shipped model)")
    parser.add_argument("--ner-model", help=f"model directory for --ner polyrel (default: ${defaults.NER_MODEL_ENV}, else the shipped model)")
    parser.add_argument("--ner", default=defaults.DEFAULT_NER,
                        help="entity source: polyrel (the shipped NER model), given (spans in the input), stanza,"
                        " or a registered backend"
                        " (default: %(default)s)")
    parser.add_argument("--stanza-dir", help="stanza resources directory (tokenizer/NER models; never downloaded)")
    parser.add_argument("--lang", help="language tag of documents without one, e.g. every .txt (default: identified"
                        " from the text, else und)")
    parser.add_argument("--max-entities", type=int, default=d["max_entities"].default,
                        help="a sentence with more entity mentions is not paired: one dead letter (0: no cap;"
                        " default: %(default)s)")
    parser.add_argument("--max-pair-distance", type=int, default=d["max_pair_distance"].default,
                        help="pairs more than N tokens apart are not scored: one dead letter per sentence (0: no cap;"
                        " default: %(default)s)")
    parser.add_argument("--max-pairs-per-doc", type=int, default=d["max_pairs_per_doc"].default,
                        help="a document's sentences past this many pairs are not paired: one dead letter"
                        " (0: no cap; default: %(default)s)")
    parser.add_argument("--restrict-type-pairs", action="store_true",
                        help="score only (head type, tail type) pairs seen in training (model config)")
    parser.add_argument("--threshold", type=float,
                        help="emit the relations whose probability reaches this: an extract model's best label,"
                        " a classify model's every label (default: the model's own decision, model.relation.predictor.decide)")
    parser.add_argument("--min-entity-score", type=float,
                        help="--ner polyrel: drop entities the NER scores below this (default: the NER model's own,"
                        " chosen on dev with the relation threshold)")
    parser.add_argument("--cjk-words", choices=CJK_WORDS, default=d["cjk_words"].default,
                        help="Chinese/Japanese words for the relation model: dictionary segmenter (jieba, Janome)"
                        " words or single characters (default: %(default)s)")
    parser.add_argument("--max-doc-chars", type=int, default=d["max_doc_chars"].default,
                        help="longer documents go to errors/ (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=d["batch_size"].default,
                        help="pairs per relation inference call, the most a worker holds at a time; the model runs"
                        " them in length-sorted passes of --encoder-batch inputs (default: %(default)s)")
    parser.add_argument("--encoder-batch", type=int, default=d["encoder_batch"].default,
                        help="distinct encoder inputs per forward pass; a pair and its mirror share one (default: %(default)s)")
    parser.add_argument("--num-shards", type=int, default=d["num_shards"].default,
                        help="Parquet files per table (default: %(default)s)")
    parser.add_argument("--inference-shards", type=int,
                        help="shards per length bucket of the relation stage, the keys its batches are grouped by"
                        " (default: 16, one more per MiB of input beyond 16 MiB, at most 4096)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1… (default: cuda when available)")
    parser.add_argument("--precision", choices=PRECISIONS, default=d["precision"].default,
                        help="models compute in bf16 where the CPU or GPU has it natively (auto), or as forced"
                        " (default: %(default)s)")
    parser.add_argument("--run-id", help="recorded in every row (default: UTC time + random suffix)")
    parser.add_argument("--runner", default="DirectRunner",
                        help="Beam runner: DirectRunner, DaskRunner, DataflowRunner, FlinkRunner… (default: %(default)s)")
    parser.add_argument("--beam-args", nargs=argparse.REMAINDER, default=[],
                        help="everything after this goes to Beam as pipeline options, e.g."
                        " --beam-args --direct_running_mode=multi_processing --direct_num_workers=2")
