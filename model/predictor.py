"""Scoring entity pairs with a saved relation model: what `predict`, `evaluate` and the Beam
ModelHandler share.

Pairs are encoded once, batched by length (little padding) and run under `inference_mode`;
on a GPU the forward pass runs in bf16 autocast. Pairs that cannot be encoded (entities too
far apart for the encoder's length) come back with a reason instead of a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from polyrel.model.data import Entity
from polyrel.model.encoding import EncodedPair, PairEncoder, Unfit, collate, length_batches
from polyrel.model.modeling import RelationModel, RelationModelConfig


@dataclass(frozen=True)
class PairQuery:
    tokens: tuple[str, ...]
    head: Entity
    tail: Entity


@dataclass(frozen=True)
class PairPrediction:
    """The best label (None: no relation) and its probability, or why the pair was skipped."""

    label: str | None
    score: float
    skipped: str | None = None


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class RelationPredictor:
    def __init__(self, model: RelationModel, encoder: PairEncoder, device: str) -> None:
        self.model = model.to(device).eval()
        self.encoder = encoder
        self.device = device

    @classmethod
    def load(cls, model_dir: str | Path, device: str | None = None) -> RelationPredictor:
        model, tokenizer = RelationModel.from_pretrained(model_dir)
        config = model.config
        encoder = PairEncoder(tokenizer, config.marker_inventory(), config.max_length)
        return cls(model, encoder, device or default_device())

    @property
    def config(self) -> RelationModelConfig:
        return self.model.config

    def encode(self, query: PairQuery) -> EncodedPair | Unfit:
        return self.encoder.encode(query.tokens, query.head, query.tail)

    def probabilities(self, pairs: Sequence[EncodedPair], batch_size: int = 32) -> np.ndarray:
        """[N, outputs]: softmax over "no relation" + labels (extract), per-label sigmoids or a softmax (classify)."""
        out = np.zeros((len(pairs), len(self.config.output_labels)), dtype=np.float32)
        pad_id = self.encoder.tokenizer.pad_token_id or 0
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.startswith("cuda"))
        with torch.inference_mode(), autocast:
            for batch in length_batches([len(p.input_ids) for p in pairs], batch_size):
                tensors = {k: v.to(self.device) for k, v in collate([pairs[i] for i in batch], pad_id).items()}
                logits = self.model(**tensors).float()
                probs = self.config.probabilities(logits)
                out[batch] = probs.cpu().numpy()
        return out

    def predict(self, queries: Sequence[PairQuery], batch_size: int = 32) -> list[PairPrediction]:
        encoded = [self.encode(q) for q in queries]
        fit = [i for i, e in enumerate(encoded) if isinstance(e, EncodedPair)]
        probs = self.probabilities([encoded[i] for i in fit], batch_size)  # type: ignore[misc]
        labels = self.config.output_labels
        results: list[PairPrediction] = [
            PairPrediction(None, 0.0, e.reason) if isinstance(e, Unfit) else PairPrediction(None, 0.0)
            for e in encoded
        ]
        for row, i in enumerate(fit):
            best = int(probs[row].argmax())
            label = None if self.config.task == "extract" and best == 0 else labels[best]
            results[i] = PairPrediction(label, float(probs[row, best]))
        return results
