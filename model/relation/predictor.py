"""Scoring entity pairs with a saved relation model: what `predict`, `evaluate` and the Beam
ModelHandler share.

Pairs are encoded once, batched by length (little padding), share the encoder pass when their
inputs are identical (`RelationModel.summaries`) and run under `inference_mode`,
in bf16 where the device computes it natively. Pairs that cannot be encoded (entities too
far apart for the encoder's length) come back with a reason instead of a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from polyrel import progress
from polyrel.model.precision import default_device, for_inference
from polyrel.model.relation.encoding import EncodedPair, PairEncoder, Unfit
from polyrel.model.relation.modeling import RelationModel, RelationModelConfig
from polyrel.schemas.records import Entity


@dataclass(frozen=True)
class PairQuery:
    tokens: tuple[str, ...]
    head: Entity
    tail: Entity


@dataclass(frozen=True)
class PairPrediction:
    """The decided labels with their probabilities, best first (none: no relation), or why the pair was skipped."""

    labels: tuple[tuple[str, float], ...] = ()
    skipped: str | None = None

    @property
    def label(self) -> str | None:
        return self.labels[0][0] if self.labels else None


def decide(probs: np.ndarray, config: RelationModelConfig, threshold: float | None = None) -> list[tuple[str, float]]:
    """The labels one pair gets, best first, with their probabilities: the one rule behind
    `predict`, `evaluate` and the pipeline, so reported scores describe what the pipeline writes.

    The threshold is the caller's, else the model's own (`config.threshold`, chosen on dev).
    extract (a softmax over "no relation" + labels): the best real label; with no threshold it
    is kept when it beats "no relation", with a threshold when its probability reaches it
    (0 keeps every pair's best label).
    classify: every label reaching the threshold (default 0.5); with no threshold at least the
    top label, since a classify model only ever sees related pairs and has no "none" to answer.
    """
    labels = config.output_labels
    threshold = config.threshold if threshold is None else threshold
    if config.task == "extract":
        best = 1 + int(probs[1:].argmax())
        keep = probs[best] > probs[0] if threshold is None else probs[best] >= threshold
        return [(labels[best], float(probs[best]))] if keep else []
    cut = 0.5 if threshold is None else threshold
    kept = sorted(((labels[i], float(p)) for i, p in enumerate(probs) if p >= cut), key=lambda x: -x[1])
    if not kept and threshold is None:
        kept = [(labels[int(probs.argmax())], float(probs.max()))]
    return kept


class RelationPredictor:
    """A loaded relation model scoring encoded pairs; weights in bf16 where the device computes it
    natively (`precision="auto"`, see model/precision.py), float32 otherwise or when asked."""

    def __init__(self, model: RelationModel, encoder: PairEncoder, device: str, precision: str = "fp32") -> None:
        self.model = for_inference(model, precision, device)
        self.encoder = encoder
        self.device = device

    @classmethod
    def load(cls, model_dir: str | Path, device: str | None = None, precision: str = "auto") -> RelationPredictor:
        model, tokenizer = RelationModel.from_pretrained(model_dir)
        config = model.config
        encoder = config.pair_encoder(tokenizer)
        return cls(model, encoder, device or default_device(), precision)

    @property
    def config(self) -> RelationModelConfig:
        return self.model.config

    def encode(self, query: PairQuery) -> EncodedPair | Unfit:
        return self.encoder.encode(query.tokens, query.head, query.tail)

    def probabilities(self, pairs: Sequence[EncodedPair], batch_size: int = 32, desc: str | None = None) -> np.ndarray:
        """[N, outputs]: softmax over "no relation" + labels (extract), per-label sigmoids or a softmax (classify).
        With `desc`, a progress bar of that name counts the pairs."""
        out = np.zeros((len(pairs), len(self.config.output_labels)), dtype=np.float32)
        pad_id = self.encoder.tokenizer.pad_token_id or 0
        with torch.inference_mode(), progress.bar(desc=desc or "", total=len(pairs), unit="pair", show=desc is not None) as bar:
            for indices, summary in self.model.summaries(pairs, batch_size, pad_id):
                out[indices] = self.config.probabilities(self.model(summary=summary).float()).cpu().numpy()
                bar.update(len(indices))
        return out

    def predict(
        self, queries: Sequence[PairQuery], batch_size: int = 32, threshold: float | None = None,
    ) -> list[PairPrediction]:
        encoded = [self.encode(q) for q in queries]
        fit = [i for i, e in enumerate(encoded) if isinstance(e, EncodedPair)]
        probs = iter(self.probabilities([encoded[i] for i in fit], batch_size))  # type: ignore[misc]
        return [
            PairPrediction(skipped=e.reason) if isinstance(e, Unfit)
            else PairPrediction(tuple(decide(next(probs), self.config, threshold)))
            for e in encoded
        ]
