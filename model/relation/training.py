"""Relation training and evaluation: candidate pairs, targets, decoding, dev scoring.

The loop itself lives in `trainer.py`. Several training files train one joint
(multilingual) model. For CPU budgets two switches trade accuracy for speed, recorded in
`training.json` beside the model: sampling the "no relation" pairs of each epoch
(`neg_ratio`) and freezing the word-embedding matrix except the marker rows.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from polyrel.model.batching import length_batches
from polyrel.model.choices import PairScheme
from polyrel.model.encoders.backbone import AdapterConfig, load_encoder
from polyrel.model.precision import autocast, resolve
from polyrel.model.relation.encoding import EncodedPair, PairEncoder, Unfit, collate
from polyrel.model.relation.modeling import RelationModel, RelationModelConfig, add_markers
from polyrel.model.relation.pairs import candidate_pairs, orient, reversed_label, sentence_candidates
from polyrel.model.relation.predictor import RelationPredictor, decide
from polyrel.model.training.layer_cache import LowerLayerCache
from polyrel.model.training.metrics import Report, score
from polyrel.model.training.trainer import TrainingConfig, seed_everything
from polyrel.schemas.records import Sentence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairInstance:
    sentence: int
    head: int
    tail: int
    gold: frozenset[str]
    encoded: EncodedPair | None
    unfit: str | None = None


def collect_inventory(sentences: Sequence[Sentence]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Labels, entity types and related (head type, tail type) pairs seen in training data."""
    labels = sorted({l for s in sentences for r in s.relations for l in r.labels})
    types = sorted({e.type for s in sentences for e in s.entities})
    pairs = sorted({(s.entities[r.head].type, s.entities[r.tail].type) for s in sentences for r in s.relations})
    return tuple(labels), tuple(types), tuple(pairs)


def initialise_model(
    encoder: str, labels: Sequence[str], entity_types: Sequence[str], markers: str = "etm",
    pooling: str = "emp", task: str = "extract", max_length: int = 256,
    type_pairs: Sequence[tuple[str, str]] = (), seed: int = 13, model_id: str = "",
    adapter: AdapterConfig | None = None, classify_output: str = "softmax", word_joining: str = "as_written",
    pairs: PairScheme = "ordered",
) -> tuple[RelationModel, PreTrainedTokenizerBase]:
    """A new relation model on a pretrained encoder, with the marker tokens added;
    with `adapter`, the encoder stays frozen under LoRA and the model saves compact."""
    from polyrel.model.encoders.install import resolve_encoder

    seed_everything(seed)
    path = resolve_encoder(encoder)
    tokenizer = AutoTokenizer.from_pretrained(path)
    backbone = load_encoder(path)
    config = RelationModelConfig(
        encoder=encoder, labels=tuple(labels), entity_types=tuple(entity_types), markers=markers,  # type: ignore[arg-type]
        pooling=pooling, task=task, max_length=min(max_length, tokenizer.model_max_length),  # type: ignore[arg-type]
        classify_output=classify_output, word_joining=word_joining, pairs=pairs,  # type: ignore[arg-type]
        type_pairs=tuple(type_pairs), model_id=model_id or f"polyrel-{markers}-{pooling}-{Path(encoder).name}",
    )
    add_markers(backbone, tokenizer, config.marker_inventory())
    model = RelationModel(config, backbone)
    if adapter is not None:
        model.make_compact(adapter, path)
    return model, tokenizer


def build_instances(
    sentences: Sequence[Sentence], encoder: PairEncoder, task: str, pairs: PairScheme = "ordered",
) -> list[PairInstance]:
    """Candidate pairs: every candidate of the scheme (extract) or the gold-related ones (classify).
    Under the `unordered` scheme a candidate's gold holds the labels from its second entity to its
    first as `reversed_label`s."""
    instances = []
    for s_idx, sentence in enumerate(sentences):
        gold: dict[tuple[int, int], set[str]] = {}
        for r in sentence.relations:
            candidate = candidate_pairs(sentence.entities, r.head, r.tail, pairs)[0]
            forward = candidate == (r.head, r.tail)
            gold.setdefault(candidate, set()).update(r.labels if forward else map(reversed_label, r.labels))
        if task == "extract":
            candidates = sentence_candidates(sentence.entities, pairs)
        else:
            candidates = list(gold)
        words = sentence.words
        for h, t in candidates:
            encoded = encoder.encode(words, sentence.entities[h], sentence.entities[t])
            unfit = encoded.reason if isinstance(encoded, Unfit) else None
            instances.append(PairInstance(
                s_idx, h, t, frozenset(gold.get((h, t), ())),
                None if unfit else encoded, unfit,  # type: ignore[arg-type]
            ))
    return instances


def targets(instances: Sequence[PairInstance], config: RelationModelConfig) -> torch.Tensor:
    """A distribution over outputs for softmax models (several gold labels share the mass), else multi-hot."""
    index = {label: i for i, label in enumerate(config.output_labels)}
    out = torch.zeros(len(instances), len(index))
    for row, instance in enumerate(instances):
        if config.task == "extract" and not instance.gold:
            out[row, 0] = 1.0
        for label in instance.gold:
            out[row, index[label]] = 1.0 / (len(instance.gold) if config.softmax else 1)
    return out


def decode(probs: np.ndarray, config: RelationModelConfig) -> list[frozenset[str]]:
    """Label sets by the predictor's rule (`decide`), so dev and test scores describe what `predict` writes."""
    return [frozenset(label for label, _ in decide(p, config)) for p in probs]


def evaluate_instances(predictor: RelationPredictor, instances: Sequence[PairInstance], batch_size: int = 64,
                       desc: str | None = None) -> Report:
    """Scores every candidate; an unfit pair predicts nothing, so its gold labels count as misses.
    With `desc`, a progress bar of that name counts the pairs."""
    fit = [i for i in instances if i.encoded is not None]
    probs = predictor.probabilities([i.encoded for i in fit], batch_size, desc)  # type: ignore[misc]
    return score_instances(instances, fit, probs, predictor.config)


def score_instances(
    instances: Sequence[PairInstance], fit: Sequence[PairInstance], probs: np.ndarray, config: RelationModelConfig,
) -> Report:
    """The report over all `instances`, given output probabilities for the `fit` ones."""
    by_instance = dict(zip((id(i) for i in fit), decode(probs, config)))
    pred = [by_instance.get(id(i), frozenset()) for i in instances]
    report = score_labels([i.gold for i in instances], pred, config)
    report.extra["unfit_pairs"] = len(instances) - len(fit)
    report.extra["unfit_gold_labels"] = sum(len(i.gold) for i in instances if i.encoded is None)
    return report


def score_labels(gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]], config: RelationModelConfig) -> Report:
    """Scores of candidates' label sets over the model's labels; an unordered model's are scored as
    ordered pairs (`as_ordered`), so the two schemes' scores compare."""
    if config.pairs == "unordered":
        gold, pred = as_ordered(gold), as_ordered(pred)
    return score(gold, pred, config.labels)


def as_ordered(label_sets: Sequence[frozenset[str]]) -> list[frozenset[str]]:
    """Each unordered candidate's labels as two ordered decisions: (first, second)'s labels, then
    (second, first)'s, the reversed labels read forward."""
    out = []
    for labels in label_sets:
        oriented = [orient(label) for label in labels]
        out.append(frozenset(label for label, backward in oriented if not backward))
        out.append(frozenset(label for label, backward in oriented if backward))
    return out


def side_by_side(items: Sequence[PairInstance]) -> list[PairInstance]:
    """Items reading one input sequence moved beside its first reader, the rest in order: the
    trainer's stable length sort then keeps them in one batch, where they share an encoder row
    (a sampled "no relation" pair otherwise lands far from its mirror)."""
    groups: dict[tuple[int, ...], list[PairInstance]] = {}
    for item in items:
        groups.setdefault(item.encoded.input_ids, []).append(item)  # type: ignore[union-attr]
    return [item for group in groups.values() for item in group]


def constant_floor(instances: Sequence[PairInstance], config: RelationModelConfig) -> float:
    """The best dev score of a model that writes one label for every pair: the plateau a classify
    model sits on before it learns (an extract model's, "no relation" everywhere, scores 0).
    Early stopping waits for a score above it, or a run stops on its plateau."""
    if config.task == "extract" or not instances:
        return 0.0
    golds = [i.gold for i in instances]
    return max(score_labels(golds, [frozenset({label}) if i.encoded is not None else frozenset() for i in instances],
                            config).macro_f1 for label in config.output_labels)


class RelationTask:
    """Relation pairs for the shared trainer: soft targets (extract) or multi-hot (classify),
    optional sampling of "no relation" pairs per epoch, dev F1 of the task's protocol.

    With a frozen encoder (adapter rank 0, no top layers) every pair's pooled summary is computed once and
    the epochs train the classifier on those: the heads-only model costs one forward pass.
    """

    def __init__(
        self, model: RelationModel, tokenizer: PreTrainedTokenizerBase, train: Sequence[Sentence],
        dev: Sequence[Sentence] | None, training: TrainingConfig | None = None,
    ) -> None:
        training = training or TrainingConfig()
        self.model = model
        self.config = model.config
        self.encoder = model.config.pair_encoder(tokenizer)
        instances = build_instances(train, self.encoder, self.config.task, self.config.pairs)
        self.skipped = Counter(i.unfit for i in instances if i.unfit)
        if self.skipped:
            log.warning("skipping %d training pairs that do not fit: %s", sum(self.skipped.values()), self.skipped.most_common(3))
        self.instances = [i for i in instances if i.encoded is not None]
        self.dev = build_instances(dev, self.encoder, self.config.task, self.config.pairs) if dev else []
        self.neg_ratio = training.neg_ratio if self.config.task == "extract" else None
        self.language_fraction = training.language_fraction
        self.sampled = {i for i, s in enumerate(train) if s.lang not in training.full_languages}
        self.pad_id = tokenizer.pad_token_id or 0
        self.share_encoder_passes = training.share_encoder_passes
        self.eval_batch_size = training.eval_batch_size
        self.selection_key = "dev_micro_f1" if self.config.task == "extract" else "dev_macro_f1"
        self.selection_floor = constant_floor(self.dev, self.config)
        self._loss = nn.CrossEntropyLoss() if self.config.softmax else nn.BCEWithLogitsLoss()
        adapter = self.config.adapter
        self.cached = adapter is not None and adapter.frozen_encoder
        if self.cached and self.config.pooling == "es+type":
            raise ValueError("a frozen encoder caches summaries, but es+type pooling trains its type embedding: use another pooling")
        self._summaries: dict[int, torch.Tensor] = {}
        self.lower = (LowerLayerCache(model, training.precision, self.eval_batch_size, self.pad_id)
                      if adapter is not None and adapter.frozen_below_top and training.cache_lower_layers else None)

    def _summarize(self, instances: Sequence[PairInstance]) -> None:
        """Pooled summaries of instances not cached yet, on the model's current device."""
        todo = [i for i in instances if id(i) not in self._summaries and i.encoded is not None]
        if not todo:
            return
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            for indices, summary in self.model.summaries([i.encoded for i in todo], self.eval_batch_size, self.pad_id):  # type: ignore[misc]
                for row, k in enumerate(indices):
                    self._summaries[id(todo[k])] = summary[row].float().cpu()
        self.model.train(was_training)

    def epoch_items(self, rng: random.Random) -> list[PairInstance]:
        if self.cached:
            self._summarize(self.instances)
        items = self.instances
        if self.language_fraction is not None and self.sampled:
            ordered = sorted(self.sampled)
            kept = set(rng.sample(ordered, round(self.language_fraction * len(ordered))))
            items = [i for i in items if i.sentence not in self.sampled or i.sentence in kept]
        if self.neg_ratio is not None:
            positives = [i for i in items if i.gold]
            negatives = [i for i in items if not i.gold]
            keep = min(len(negatives), round(self.neg_ratio * max(len(positives), 1)))
            items = positives + rng.sample(negatives, keep)
        return side_by_side(items) if self.share_encoder_passes and not self.cached else items

    def length(self, item: PairInstance) -> int:
        return len(item.encoded.input_ids)  # type: ignore[union-attr]

    def batch(self, items: Sequence[PairInstance]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        return self.inputs(items), targets(items, self.config)

    def inputs(self, items: Sequence[PairInstance]) -> dict[str, torch.Tensor]:
        """The model's keyword inputs for `items`: cached summaries, cached lower states or input ids."""
        if self.cached:
            return {"summary": torch.stack([self._summaries[id(i)] for i in items])}
        inputs = collate([i.encoded for i in items], self.pad_id, self.share_encoder_passes)  # type: ignore[misc]
        if self.lower is not None:
            inputs["lower_hidden"] = self.lower.hidden(inputs.pop("input_ids"), inputs["attention_mask"])
        return inputs

    def loss(self, logits: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        return self._loss(logits, gold)

    def evaluate(self, model: RelationModel, device: str) -> dict[str, float]:
        if not self.dev:
            return {}
        if self.cached:
            self._summarize(self.dev)
            fit = [i for i in self.dev if i.encoded is not None]
            with torch.inference_mode():
                logits = model(summary=torch.stack([self._summaries[id(i)] for i in fit]).to(device)).float()
            probs = self.config.probabilities(logits).cpu().numpy()
            report = score_instances(self.dev, fit, probs, self.config)
        elif self.lower is not None:
            fit = [i for i in self.dev if i.encoded is not None]
            probs = np.zeros((len(fit), len(self.config.output_labels)), dtype=np.float32)
            with torch.inference_mode(), autocast(device, resolve(self.lower.precision, device)):
                for batch in length_batches([self.length(i) for i in fit], self.eval_batch_size):
                    inputs = self.inputs([fit[k] for k in batch])
                    logits = model(**{k: v.to(device) for k, v in inputs.items()}).float()
                    probs[batch] = self.config.probabilities(logits).cpu().numpy()
            report = score_instances(self.dev, fit, probs, self.config)
        else:
            report = evaluate_instances(RelationPredictor(model, self.encoder, device), self.dev, self.eval_batch_size)
        return {"dev_micro_f1": report.micro_f1, "dev_macro_f1": report.macro_f1}
