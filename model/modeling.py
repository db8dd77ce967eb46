"""The relation model: encoder → pooled summary → linear layer over relation labels.

One readable forward path, Hugging Face style: a config object carries every choice and a
model directory (`config.json`, `model.safetensors`, tokenizer files with the markers) is
what `save_pretrained` writes and `from_pretrained` reads, with no network and no pickle.
The encoder's own config is stored inside ours, so a saved model rebuilds its encoder
without the original checkpoint.

Task modes: `extract` scores every ordered entity pair over K labels + "no relation"
(index 0, softmax; the paper's setting); `classify` labels gold-related pairs only, one
sigmoid per label (multi-label, the CrossRE protocol).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import CONFIG_MAPPING, AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from polyrel import __version__
from polyrel.model.markers import MarkerInventory
from polyrel.model.pooling import Pooler

NO_RELATION = "no_relation"
TASKS: tuple[str, ...] = ("extract", "classify")
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class ModelDirectoryError(ValueError):
    """A model directory that is missing files or whose files disagree."""


@dataclass
class RelationModelConfig:
    encoder: str
    labels: tuple[str, ...]
    entity_types: tuple[str, ...]
    markers: Literal["um", "etm"] = "etm"
    pooling: str = "emp"
    task: Literal["extract", "classify"] = "extract"
    max_length: int = 256
    type_pairs: tuple[tuple[str, str], ...] = ()
    type_embedding_dim: int = 32
    dropout: float = 0.1
    encoder_config: dict[str, Any] = field(default_factory=dict)
    model_id: str = ""
    polyrel_version: str = __version__

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose from {TASKS}")
        self.labels = tuple(self.labels)
        self.entity_types = tuple(self.entity_types)
        self.type_pairs = tuple(tuple(p) for p in self.type_pairs)  # type: ignore[misc]

    @property
    def output_labels(self) -> tuple[str, ...]:
        """Classifier outputs in order: extract mode puts "no relation" at index 0."""
        return (NO_RELATION, *self.labels) if self.task == "extract" else self.labels

    def marker_inventory(self) -> MarkerInventory:
        return MarkerInventory(self.markers, self.entity_types)

    def to_json_file(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def from_json_file(cls, path: Path) -> RelationModelConfig:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ModelDirectoryError(f"{path}: unknown config keys {sorted(unknown)}")
        return cls(**data)


def without_pooler(encoder: PreTrainedModel) -> PreTrainedModel:
    """Drop BERT-style [CLS] poolers: relation pooling reads the last layer, and an unused
    randomly initialised pooler would only bloat the saved weights."""
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None
    return encoder


def build_encoder(encoder_config: dict[str, Any]) -> PreTrainedModel:
    """A randomly initialised encoder of the stored architecture (weights come from the directory)."""
    config = CONFIG_MAPPING[encoder_config["model_type"]].from_dict(encoder_config)
    return without_pooler(AutoModel.from_config(config))


class RelationModel(nn.Module):
    def __init__(self, config: RelationModelConfig, encoder: PreTrainedModel | None = None) -> None:
        super().__init__()
        self.config = config
        self.encoder = without_pooler(encoder) if encoder is not None else build_encoder(config.encoder_config)
        config.encoder_config = json.loads(json.dumps(self.encoder.config.to_dict()))  # as config.json stores it
        hidden = self.encoder.config.hidden_size
        self.pooler = Pooler(config.pooling, hidden, len(config.entity_types), config.type_embedding_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.pooler.output_size, len(config.output_labels))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, head_span: torch.Tensor,
        tail_span: torch.Tensor, head_type: torch.Tensor, tail_type: torch.Tensor,
    ) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        summary = self.pooler(hidden, head_span, tail_span, head_type, tail_type)
        return self.classifier(self.dropout(summary))

    def save_pretrained(self, directory: str | Path, tokenizer: PreTrainedTokenizerBase) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.to_json_file(directory / CONFIG_NAME)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
        tokenizer.save_pretrained(str(directory))

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> tuple[RelationModel, PreTrainedTokenizerBase]:
        """The model and its tokenizer; refuses directories whose files disagree."""
        directory = Path(directory)
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (directory / name).is_file():
                raise ModelDirectoryError(f"{directory}: missing {name}; not a polyrel model directory")
        config = RelationModelConfig.from_json_file(directory / CONFIG_NAME)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelDirectoryError(f"{directory}: tokenizer files missing or unreadable ({exc})") from exc
        missing = [m for m in config.marker_inventory().tokens if m not in tokenizer.get_vocab()]
        if missing:
            raise ModelDirectoryError(f"{directory}: tokenizer lacks marker tokens {missing[:5]}")
        with safe_open(str(directory / WEIGHTS_NAME), "pt") as handle:
            shapes = {k: handle.get_slice(k).get_shape() for k in handle.keys()}
        n_out = shapes.get("classifier.weight", [None])[0]
        if n_out != len(config.output_labels):
            raise ModelDirectoryError(
                f"{directory}: classifier has {n_out} outputs but config.json lists"
                f" {len(config.output_labels)} ({config.task} mode labels)"
            )
        vocab = next((s[0] for k, s in shapes.items() if k.endswith("word_embeddings.weight")), None)
        if vocab is not None and vocab < len(tokenizer):
            raise ModelDirectoryError(
                f"{directory}: tokenizer has {len(tokenizer)} tokens but the embedding matrix {vocab} rows"
            )
        model = cls(config)
        model.load_state_dict(load_file(str(directory / WEIGHTS_NAME)))
        model.eval()
        return model, tokenizer


def add_markers(
    encoder: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, markers: MarkerInventory
) -> list[int]:
    """Add marker tokens as special tokens, grow the embeddings, seed each marker row.

    A marker row starts as the mean embedding of a word that names it (its entity type, or
    "head"/"tail" for uniform markers), so type markers carry meaning from step one and
    stay close to the multilingual embedding space the encoder transfers through.
    """
    tokenizer.add_special_tokens({"additional_special_tokens": markers.tokens}, replace_extra_special_tokens=False)
    if len(tokenizer) > encoder.get_input_embeddings().num_embeddings:
        encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    embeddings = encoder.get_input_embeddings().weight
    marker_ids = tokenizer.convert_tokens_to_ids(markers.tokens)
    with torch.no_grad():
        for marker, marker_id in zip(markers.tokens, marker_ids):
            word_ids = tokenizer(markers.seed_words()[marker], add_special_tokens=False)["input_ids"]
            embeddings[marker_id] = embeddings[word_ids].mean(dim=0)
    return marker_ids
