"""The relation model: encoder → pooled summary → linear layer over relation labels.

One readable forward path, Hugging Face style: a config object carries every choice and a
model directory (`config.json`, `model.safetensors`, tokenizer files with the markers; or the
compact adapter form, see `backbone.py`) is what `save_pretrained` writes and
`from_pretrained` reads, with no network and no pickle.

Task modes: `extract` scores candidate entity pairs over K labels + "no relation"
(index 0, softmax; the paper's setting); `classify` labels gold-related pairs only (the CrossRE
protocol, multi-label): one sigmoid per label, or (`classify_output="softmax"`) a softmax over the
labels as the CrossRE baseline trains, decoded to the top label plus any other above threshold.

Pair schemes (`pairs`): `ordered` makes every ordered pair (a, b) a candidate, so a relation's
direction is which of (a, b) and (b, a) carries it; `unordered` makes one candidate per pair, the
entity that comes first in the sentence as head, and doubles the labels: `label` for first → second,
`label(e2,e1)` for second → first (the paper's scheme). Both are scored as ordered triples.

Summary vectors (`Pooler`) of a marked sentence from the encoder's last layer:

`ss`  the sentence start token ([CLS] / <s>);
`es`  the head's and the tail's start markers, concatenated (head first: direction);
`emp` entity max pooling: per entity, the element-wise max over its start marker, its
      sub-tokens and its end marker; head and tail concatenated — the paper's best;
`es+type` `es` plus a learned embedding of each entity's type (the paper's UM-ES+type
      baseline, which gives uniform markers the type information ETM puts in the input).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from polyrel.model.batching import length_batches
from polyrel.model.choices import PAIR_SCHEMES, POOLINGS, WORD_JOININGS, PairScheme, WordJoining
from polyrel.model.encoders.backbone import (
    EncoderModel,
    EncoderModelConfig,
    ModelDirectoryError,
    input_embeddings,
    token_ids,
)
from polyrel.model.relation.encoding import EncodedPair, MarkerInventory, PairEncoder, collate
from polyrel.model.relation.pairs import reversed_label


def span_max(hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """Max over positions `spans[:, 0]..spans[:, 1]` (inclusive) of each row: [B, L, H] → [B, H]."""
    positions = torch.arange(hidden.size(1), device=hidden.device)
    inside = (positions >= spans[:, :1]) & (positions <= spans[:, 1:])
    return hidden.masked_fill(~inside.unsqueeze(-1), torch.finfo(hidden.dtype).min).amax(dim=1)


def gather(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """The vector at one position per row: [B, L, H], [B] → [B, H]."""
    return hidden[torch.arange(hidden.size(0), device=hidden.device), positions]


class Pooler(nn.Module):
    def __init__(self, method: str, hidden_size: int, n_entity_types: int = 0, type_dim: int = 0) -> None:
        super().__init__()
        if method not in POOLINGS:
            raise ValueError(f"unknown pooling {method!r}; choose from {POOLINGS}")
        self.method = method
        self.type_embedding = (
            nn.Embedding(n_entity_types + 1, type_dim) if method == "es+type" else None
        )  # row 0: a type unseen in training
        self.output_size = {
            "ss": hidden_size, "es": 2 * hidden_size, "emp": 2 * hidden_size,
            "es+type": 2 * hidden_size + 2 * type_dim,
        }[method]

    def forward(
        self, hidden: torch.Tensor, head_span: torch.Tensor, tail_span: torch.Tensor,
        head_type: torch.Tensor, tail_type: torch.Tensor,
    ) -> torch.Tensor:
        if self.method == "ss":
            return hidden[:, 0]
        if self.method == "emp":
            return torch.cat([span_max(hidden, head_span), span_max(hidden, tail_span)], dim=-1)
        starts = torch.cat([gather(hidden, head_span[:, 0]), gather(hidden, tail_span[:, 0])], dim=-1)
        if self.type_embedding is None:
            return starts
        types = torch.cat([self.type_embedding(head_type), self.type_embedding(tail_type)], dim=-1)
        return torch.cat([starts, types.to(starts.dtype)], dim=-1)


NO_RELATION = "no_relation"
TASKS: tuple[str, ...] = ("extract", "classify")
CLASSIFY_OUTPUTS: tuple[str, ...] = ("sigmoid", "softmax")
@dataclass
class RelationModelConfig(EncoderModelConfig):
    encoder: str
    labels: tuple[str, ...]
    entity_types: tuple[str, ...]
    markers: Literal["um", "etm"] = "etm"
    pooling: str = "emp"
    task: Literal["extract", "classify"] = "extract"
    classify_output: Literal["sigmoid", "softmax"] = "sigmoid"  # the default reads older directories as trained
    word_joining: WordJoining = "spaced"  # how CJK words meet their pieces (encoding.PairEncoder); older directories: spaced
    pairs: PairScheme = "ordered"  # candidates: every ordered pair, or one per pair with direction-tagged labels
    max_length: int = 256
    type_pairs: tuple[tuple[str, str], ...] = ()
    type_embedding_dim: int = 32
    dropout: float = 0.1
    # the decision threshold `predictor.decide` applies when the caller gives none: chosen on held-out
    # dev end to end (`polyrel score --sweep --save-threshold`); None: the best label beats "no relation"
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose from {TASKS}")
        if self.classify_output not in CLASSIFY_OUTPUTS:
            raise ValueError(f"unknown classify_output {self.classify_output!r}; choose from {CLASSIFY_OUTPUTS}")
        if self.word_joining not in WORD_JOININGS:
            raise ValueError(f"unknown word_joining {self.word_joining!r}; choose from {WORD_JOININGS}")
        if self.pairs not in PAIR_SCHEMES:
            raise ValueError(f"unknown pairs {self.pairs!r}; choose from {PAIR_SCHEMES}")
        self.labels = tuple(self.labels)
        self.entity_types = tuple(self.entity_types)
        self.type_pairs = tuple(tuple(p) for p in self.type_pairs)  # type: ignore[misc]

    @property
    def output_labels(self) -> tuple[str, ...]:
        """Classifier outputs in order: extract mode puts "no relation" at index 0; an unordered
        model has each label twice, forward then reversed (`reversed_label`)."""
        labels = (*self.labels, *map(reversed_label, self.labels)) if self.pairs == "unordered" else self.labels
        return (NO_RELATION, *labels) if self.task == "extract" else labels

    @property
    def softmax(self) -> bool:
        """Whether the outputs are one distribution (extract, softmax classify) or independent sigmoids."""
        return self.task == "extract" or self.classify_output == "softmax"

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.softmax(-1) if self.softmax else logits.sigmoid()

    def marker_inventory(self) -> MarkerInventory:
        return MarkerInventory(self.markers, self.entity_types)

    def pair_encoder(self, tokenizer: PreTrainedTokenizerBase) -> PairEncoder:
        """The encoder of (sentence, head, tail) inputs this model was trained on."""
        return PairEncoder(tokenizer, self.marker_inventory(), self.max_length, word_joining=self.word_joining)


class RelationModel(EncoderModel):
    config_class = RelationModelConfig

    def __init__(self, config: RelationModelConfig, encoder: nn.Module | None = None) -> None:
        super().__init__(config, encoder)
        hidden = self.encoder.config.hidden_size
        self.pooler = Pooler(config.pooling, hidden, len(config.entity_types), config.type_embedding_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.pooler.output_size, len(config.output_labels))

    def summarize(
        self, attention_mask: torch.Tensor, head_span: torch.Tensor, tail_span: torch.Tensor,
        head_type: torch.Tensor, tail_type: torch.Tensor, rows: torch.Tensor | None = None,
        input_ids: torch.Tensor | None = None, lower_hidden: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The pooled vector the classifier reads, per pair; `rows` says which input row each pair
        reads (`encoding.collate`: pairs with identical inputs share one), by default one each.
        The rows are `input_ids`, or the cached states below the trained top layers (`lower_hidden`)."""
        hidden = self.hidden_states(attention_mask, input_ids, lower_hidden)
        if rows is not None:
            hidden = hidden[rows]
        return self.pooler(hidden, head_span, tail_span, head_type, tail_type)

    def summaries(
        self, pairs: Sequence[EncodedPair], batch_size: int, pad_id: int,
    ) -> Iterator[tuple[list[int], torch.Tensor]]:
        """Pooled vectors of `pairs`, batch by batch, with the indices of the pairs they belong to.

        The encoder runs once per distinct input: with type markers the same marker wraps an
        entity whether it is head or tail, so (a, b) and (b, a) are one sequence that differs only
        in which pooled vector comes first, and scoring every ordered pair of a sentence runs the
        encoder for half of them. Batches are `batch_size` distinct inputs of similar length.
        """
        device = next(self.parameters()).device
        users: dict[tuple[int, ...], list[int]] = {}
        for index, pair in enumerate(pairs):
            users.setdefault(pair.input_ids, []).append(index)
        sequences = list(users)
        for batch in length_batches([len(s) for s in sequences], batch_size):
            indices = [i for k in batch for i in users[sequences[k]]]
            inputs = collate([pairs[i] for i in indices], pad_id)
            yield indices, self.summarize(**{k: v.to(device) for k, v in inputs.items()})

    def forward(self, summary: torch.Tensor | None = None, **inputs: torch.Tensor) -> torch.Tensor:
        """Logits over `config.output_labels`; a precomputed `summary` skips the encoder (frozen-encoder training)."""
        if summary is None:
            summary = self.summarize(**inputs)
        return self.classifier(self.dropout(summary))

    @staticmethod
    def special_tokens(config: RelationModelConfig) -> list[str]:
        return config.marker_inventory().tokens

    def validate(self, directory: Path, shapes: dict[str, list[int]], tokenizer: PreTrainedTokenizerBase) -> None:
        vocab = tokenizer.get_vocab()  # a fresh dict of the whole vocabulary on every call
        missing = [m for m in self.special_tokens(self.config) if m not in vocab]
        if missing:
            raise ModelDirectoryError(f"{directory}: tokenizer lacks marker tokens {missing[:5]}")
        n_out = shapes.get("classifier.weight", [None])[0]
        if n_out != len(self.config.output_labels):
            raise ModelDirectoryError(
                f"{directory}: classifier has {n_out} outputs but config.json lists"
                f" {len(self.config.output_labels)} ({self.config.task} mode labels)"
            )
        vocab = input_embeddings(self.encoder).num_embeddings
        if vocab < len(tokenizer):
            raise ModelDirectoryError(f"{directory}: tokenizer has {len(tokenizer)} tokens but the embedding matrix {vocab} rows")


def add_markers(
    encoder: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, markers: MarkerInventory
) -> list[int]:
    """Add marker tokens as special tokens, grow the embeddings, seed each marker row.

    A marker row starts as the mean embedding of a word that names it (its entity type, or
    "head"/"tail" for uniform markers), so type markers carry meaning from step one and
    stay close to the multilingual embedding space the encoder transfers through.
    """
    tokenizer.add_tokens(markers.tokens, special_tokens=True)
    if len(tokenizer) > input_embeddings(encoder).num_embeddings:
        encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    embeddings = input_embeddings(encoder).weight
    marker_ids = token_ids(tokenizer, markers.tokens)
    with torch.no_grad():
        for marker, marker_id in zip(markers.tokens, marker_ids):
            word_ids = tokenizer(markers.seed_words()[marker], add_special_tokens=False)["input_ids"]
            embeddings[marker_id] = embeddings[word_ids].mean(dim=0)
    return marker_ids
