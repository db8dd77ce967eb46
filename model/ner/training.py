"""NER training and evaluation on annotated sentences (CrossRE's `ner` spans).

A sentence's text and its entities' character spans train and score the model (English
CrossRE, which has no text, is read detokenized: `model.training.data`). Scores are entity-level and exact (span and type), micro over all entities and per
type, computed by the same `metrics.score` the relation model uses: each distinct span is
one decision whose label set is its type (or empty).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from polyrel.model.encoders.backbone import AdapterConfig, load_encoder
from polyrel.model.ner.modeling import (
    EntityRecognizer,
    NerConfig,
    NerModel,
    TextEncoding,
    encode_text,
    tag_subtokens,
)
from polyrel.model.training.layer_cache import LowerLayerCache
from polyrel.model.training.metrics import Report, score
from polyrel.model.training.trainer import TrainingConfig, seed_everything
from polyrel.schemas.records import Sentence


def initialise_ner(
    encoder: str, entity_types: Sequence[str], max_length: int = 256, seed: int = 13,
    adapter: AdapterConfig | None = None, model_id: str = "",
) -> tuple[NerModel, PreTrainedTokenizerBase]:
    from polyrel.model.encoders.install import resolve_encoder

    seed_everything(seed)
    path = resolve_encoder(encoder)
    tokenizer = NerModel.prepare_tokenizer(AutoTokenizer.from_pretrained(path))
    config = NerConfig(encoder, tuple(entity_types), min(max_length, tokenizer.model_max_length),
                       model_id=model_id or f"polyrel-ner-{Path(encoder).name}")
    model = NerModel(config, load_encoder(path))
    if adapter is not None:
        model.make_compact(adapter, path)
    return model, tokenizer


def evaluate_ner(recognizer: EntityRecognizer, sentences: Sequence[Sentence], batch_size: int = 32) -> Report:
    texts, gold_entities = zip(*((s.text, s.entities) for s in sentences)) if sentences else ((), ())
    predicted = recognizer(list(texts), batch_size)
    gold_sets, pred_sets = [], []
    for index, (gold, pred) in enumerate(zip(gold_entities, predicted)):
        spans: dict[tuple[int, int], tuple[set[str], set[str]]] = {}
        for entity in gold:
            spans.setdefault((entity.start, entity.end), (set(), set()))[0].add(entity.type)
        for entity in pred:
            spans.setdefault((entity.start, entity.end), (set(), set()))[1].add(entity.type)
        for g, p in spans.values():
            gold_sets.append(frozenset(g))
            pred_sets.append(frozenset(p))
    report = score(gold_sets, pred_sets, recognizer.config.entity_types)
    report.extra["sentences"] = len(sentences)
    return report


class NerTask:
    """Sub-token tagging for the shared trainer; special tokens carry no loss."""

    selection_key = "dev_f1"
    selection_floor = 0.0  # tagging every token O finds no entity

    def __init__(
        self, model: NerModel, tokenizer: PreTrainedTokenizerBase, train: Sequence[Sentence],
        dev: Sequence[Sentence] | None, training: TrainingConfig | None = None,
    ) -> None:
        self.config = model.config
        self.tokenizer = tokenizer
        self.index = {tag: i for i, tag in enumerate(self.config.tags)}
        training = training or TrainingConfig()
        self.items: list[tuple[TextEncoding, list[int]]] = []
        self.sampled: list[bool] = []  # per item: its sentence's language is sampled per epoch (`language_fraction`)
        for sentence in train:
            for window in encode_text(tokenizer, sentence.text, self.config.max_length):
                tags = tag_subtokens(window.offsets, sentence.entities, sentence.text)
                self.items.append((window, [-100 if t is None else self.index.get(t, 0) for t in tags]))
                self.sampled.append(sentence.lang not in training.full_languages)
        self.language_fraction = training.language_fraction
        self.dev = list(dev or [])
        self.pad_id = tokenizer.pad_token_id or 0
        self.eval_batch_size = training.eval_batch_size
        self._loss = nn.CrossEntropyLoss(ignore_index=-100)
        adapter = self.config.adapter
        self.lower = (LowerLayerCache(model, training.precision, self.eval_batch_size, self.pad_id)
                      if adapter is not None and adapter.frozen_below_top and training.cache_lower_layers else None)

    def epoch_items(self, rng: random.Random) -> list[tuple[TextEncoding, list[int]]]:
        if self.language_fraction is None:
            return self.items
        sampled = [i for i, flag in enumerate(self.sampled) if flag]
        kept = set(rng.sample(sampled, round(self.language_fraction * len(sampled))))
        return [item for i, item in enumerate(self.items) if not self.sampled[i] or i in kept]

    def length(self, item: tuple[TextEncoding, list[int]]) -> int:
        return len(item[0].input_ids)

    def batch(self, items: Sequence[tuple[TextEncoding, list[int]]]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        width = max(len(w.input_ids) for w, _ in items)
        ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        labels = torch.full((len(items), width), -100, dtype=torch.long)
        for row, (window, tags) in enumerate(items):
            ids[row, : len(tags)] = torch.tensor(window.input_ids)
            mask[row, : len(tags)] = 1
            labels[row, : len(tags)] = torch.tensor(tags)
        if self.lower is not None:
            return {"lower_hidden": self.lower.hidden(ids, mask), "attention_mask": mask}, labels
        return {"input_ids": ids, "attention_mask": mask}, labels

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self._loss(logits.reshape(-1, logits.size(-1)), labels.reshape(-1))

    def evaluate(self, model: NerModel, device: str) -> dict[str, float]:
        if not self.dev:
            return {}
        report = evaluate_ner(EntityRecognizer(model, self.tokenizer, device), self.dev, self.eval_batch_size)
        return {"dev_f1": report.micro_f1, "dev_macro_f1": report.macro_f1}
