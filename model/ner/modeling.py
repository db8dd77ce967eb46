"""polyrel's own NER: BIO tagging of sub-tokens on the same encoder family as the relation model.

It reads sentence *text*, not words: the fast tokenizer's offset mapping ties every sub-token
to characters, so the same code serves scripts with spaces (Latin, Cyrillic, Greek) and
without (Chinese, Japanese), and entities come out as character spans of the input. Pieces
never cross a change between Han, Hiragana and Katakana (so Japanese 日本の splits as 日本|の
and the entity keeps its exact end); a sub-token straddling any other entity boundary
belongs to the entity it starts in. Trained on
CrossRE English (39 types), it applies zero-shot to any language the encoder covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Regex, pre_tokenizers
from torch import nn
from transformers import PreTrainedTokenizerBase

from polyrel import progress
from polyrel.model.encoders.backbone import EncoderModel, EncoderModelConfig, ModelDirectoryError
from polyrel.model.precision import default_device, for_inference
from polyrel.schemas.records import Entity
from polyrel.scripts import CJK_CHARACTER

OUTSIDE = "O"


@dataclass
class NerConfig(EncoderModelConfig):
    encoder: str
    entity_types: tuple[str, ...]
    max_length: int = 256
    dropout: float = 0.1
    # entities scored lower are dropped by the pipeline: chosen on held-out dev end to end with the
    # relation threshold (`polyrel score --sweep --save-threshold`)
    min_score: float = 0.0

    def __post_init__(self) -> None:
        self.entity_types = tuple(self.entity_types)

    @property
    def tags(self) -> tuple[str, ...]:
        return (OUTSIDE, *(f"{p}-{t}" for t in self.entity_types for p in ("B", "I")))


class NerModel(EncoderModel):
    config_class = NerConfig

    def __init__(self, config: NerConfig, encoder: nn.Module | None = None) -> None:
        super().__init__(config, encoder)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.encoder.config.hidden_size, len(config.tags))

    def forward(
        self, attention_mask: torch.Tensor, input_ids: torch.Tensor | None = None, lower_hidden: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Tag logits per sub-token, from `input_ids` or the cached states below the trained top layers."""
        return self.classifier(self.dropout(self.hidden_states(attention_mask, input_ids, lower_hidden)))

    @staticmethod
    def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
        return split_scripts(tokenizer)

    def validate(self, directory: Path, shapes: dict[str, list[int]], tokenizer: PreTrainedTokenizerBase) -> None:
        n_out = shapes.get("classifier.weight", [None])[0]
        if n_out != len(self.config.tags):
            raise ModelDirectoryError(
                f"{directory}: classifier has {n_out} outputs but config.json's {len(self.config.entity_types)}"
                f" entity types need {len(self.config.tags)} BIO tags"
            )


SCRIPT_RUNS = Regex(r"\p{Han}+|\p{Hiragana}+|\p{Katakana}+")


def split_scripts(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Make sub-tokens stop at Han/Hiragana/Katakana changes, where Japanese entities usually end."""
    backend = tokenizer.backend_tokenizer
    split = pre_tokenizers.Split(SCRIPT_RUNS, behavior="isolated")
    backend.pre_tokenizer = pre_tokenizers.Sequence([backend.pre_tokenizer, split]) if backend.pre_tokenizer else split
    return tokenizer


@dataclass(frozen=True)
class TextEncoding:
    """Sub-token ids of one window of a text, with each sub-token's character span."""

    input_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]  # (0, 0) for special tokens


def encode_text(tokenizer: PreTrainedTokenizerBase, text: str, max_length: int) -> list[TextEncoding]:
    """The text's sub-tokens in windows that fit the encoder; none is dropped."""
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    wrapped = tokenizer("", add_special_tokens=True)["input_ids"]  # e.g. [CLS] [SEP] or <s> </s>
    prefix, suffix = wrapped[:1], wrapped[1:]
    budget = max_length - len(wrapped)
    windows = []
    for start in range(0, max(len(ids), 1), budget):
        chunk = ids[start: start + budget]
        chunk_offsets = [tuple(o) for o in offsets[start: start + budget]]
        windows.append(TextEncoding(
            tuple(prefix + chunk + suffix),
            tuple([(0, 0)] * len(prefix) + chunk_offsets + [(0, 0)] * len(suffix)),
        ))
    return windows


def tag_subtokens(offsets: tuple[tuple[int, int], ...], entities: list[Entity], text: str) -> list[str | None]:
    """BIO tag of each sub-token from character-span entities (None: special token, ignored)."""
    tags: list[str | None] = []
    open_entity: Entity | None = None
    for start, end in offsets:
        if start == end:
            tags.append(None)
            continue
        start = _skip_space(text, start, end)
        entity = next((e for e in entities if e.start <= start < e.end), None)
        if entity is None:
            tags.append(OUTSIDE)
        else:
            tags.append(f"{'I' if entity is open_entity else 'B'}-{entity.type}")
        open_entity = entity
    return tags


def _skip_space(text: str, start: int, end: int) -> int:
    """Metaspace tokenizers let a word's first piece cover the space before it."""
    while start < end - 1 and text[start].isspace():
        start += 1
    return start


def decode_tags(
    offsets: tuple[tuple[int, int], ...], probs: np.ndarray, tags: tuple[str, ...], text: str,
) -> list[Entity]:
    """Character-span entities from per-sub-token tag probabilities, decoded per word under BIO
    constraints (Viterbi): every piece of a word shares its word's tag, an I-X only follows B-X or
    I-X, so each span has one type and never ends inside a word. A word's score for B-X/I-X is
    its first piece's probability of that tag times its other pieces' probability of type X;
    an entity's score is the geometric mean of its pieces' probabilities along the path."""
    pieces = [(_skip_space(text, start, end), end, p) for (start, end), p in zip(offsets, probs) if start != end]
    if not pieces:
        return []
    words: list[list[tuple[int, int, np.ndarray]]] = []
    for piece in pieces:
        start = piece[0]
        if words and start == words[-1][-1][1] and _in_word(text, start) and _in_word(text, start - 1):
            words[-1].append(piece)
        else:
            words.append([piece])
    log = np.log(np.stack([p for _, _, p in pieces]).astype(np.float64) + 1e-9)
    types = tuple(dict.fromkeys(t.partition("-")[2] for t in tags if t != OUTSIDE))
    begin = np.array([tags.index(f"B-{t}") for t in types], dtype=int)
    inside = np.array([tags.index(f"I-{t}") for t in types], dtype=int)
    scores = np.empty((len(words), len(tags)))
    row = 0
    for w, word in enumerate(words):
        first, rest = log[row], log[row + 1: row + len(word)]
        row += len(word)
        typed = np.log(np.exp(rest[:, begin]) + np.exp(rest[:, inside])).sum(axis=0) if len(rest) else 0.0
        scores[w, 0] = first[0] + rest[:, 0].sum()
        scores[w, begin] = first[begin] + typed
        scores[w, inside] = first[inside] + typed
    path = _viterbi(scores, begin, inside)
    entities: list[Entity] = []
    current: list[Any] | None = None  # [start, end, type, summed log-probability, pieces]
    for word, tag, score in zip(words, path, scores[np.arange(len(words)), path]):
        prefix, _, etype = tags[tag].partition("-")
        if prefix == "I" and current is not None:
            current[1], current[3], current[4] = word[-1][1], current[3] + score, current[4] + len(word)
            continue
        if current is not None:
            entities.append(Entity(current[0], current[1], current[2], float(np.exp(current[3] / current[4]))))
            current = None
        if prefix == "B":
            current = [word[0][0], word[-1][1], etype, score, len(word)]
    if current is not None:
        entities.append(Entity(current[0], current[1], current[2], float(np.exp(current[3] / current[4]))))
    return [_strip(e, text) for e in entities]


def _viterbi(scores: np.ndarray, begin: np.ndarray, inside: np.ndarray) -> list[int]:
    """The best tag path over words [W, T] where I-X (`inside`) follows only B-X or I-X."""
    n_tags = scores.shape[1]
    allowed = np.zeros((n_tags, n_tags))
    allowed[:, inside] = -np.inf
    allowed[begin, inside] = 0.0
    allowed[inside, inside] = 0.0
    best = scores[0].copy()
    best[inside] = -np.inf
    back = np.zeros(scores.shape, dtype=int)
    for w in range(1, len(scores)):
        candidates = best[:, None] + allowed
        back[w] = candidates.argmax(axis=0)
        best = candidates.max(axis=0) + scores[w]
    path = [int(best.argmax())]
    for w in range(len(scores) - 1, 0, -1):
        path.append(int(back[w, path[-1]]))
    return path[::-1]


def _in_word(text: str, i: int) -> bool:
    """A letter or digit of a script that spaces its words (CJK characters are words of their own)."""
    return 0 <= i < len(text) and text[i].isalnum() and not CJK_CHARACTER.match(text[i])


def _strip(entity: Entity, text: str) -> Entity:
    """Trim spaces, and widen a span that starts or ends inside a word to the whole word
    (pieces of a spaced script that a tokenizer split at a character class change)."""
    start, end = entity.start, entity.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        while _in_word(text, start - 1) and _in_word(text, start):
            start -= 1
        while _in_word(text, end) and _in_word(text, end - 1):
            end += 1
    return Entity(start, end, entity.type, entity.score)


class EntityRecognizer:
    """A loaded NER model that finds character-span entities in texts, batched by length."""

    def __init__(self, model: NerModel, tokenizer: PreTrainedTokenizerBase, device: str, precision: str = "fp32") -> None:
        self.model = for_inference(model, precision, device)
        self.tokenizer = tokenizer
        self.device = device

    @classmethod
    def load(cls, model_dir: str | Path, device: str | None = None, precision: str = "auto") -> EntityRecognizer:
        """The model in `model_dir`, in bf16 where the device computes it natively (`precision="auto"`)."""
        model, tokenizer = NerModel.from_pretrained(model_dir)
        return cls(model, tokenizer, device or default_device(), precision)

    @property
    def config(self) -> NerConfig:
        return self.model.config

    def tag_probabilities(self, windows: list[TextEncoding], batch_size: int = 32, desc: str | None = None) -> list[np.ndarray]:
        """Tag distributions of each window; with `desc`, a progress bar of that name counts the windows."""
        from polyrel.model.batching import length_batches

        out: list[np.ndarray] = [np.empty(0)] * len(windows)
        pad_id = self.tokenizer.pad_token_id or 0
        with torch.inference_mode(), progress.bar(desc=desc or "", total=len(windows), unit="window", show=desc is not None) as bar:
            for batch in length_batches([len(w.input_ids) for w in windows], batch_size):
                width = max(len(windows[i].input_ids) for i in batch)
                ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for row, i in enumerate(batch):
                    ids[row, : len(windows[i].input_ids)] = torch.tensor(windows[i].input_ids)
                    mask[row, : len(windows[i].input_ids)] = 1
                probs = self.model(mask.to(self.device), ids.to(self.device)).float().softmax(-1).cpu().numpy()
                for row, i in enumerate(batch):
                    out[i] = probs[row, : len(windows[i].input_ids)]
                bar.update(len(batch))
        return out

    def __call__(self, texts: list[str], batch_size: int = 32, desc: str | None = None) -> list[list[Entity]]:
        windows = [encode_text(self.tokenizer, t, self.config.max_length) for t in texts]
        flat = [w for ws in windows for w in ws]
        probs = iter(self.tag_probabilities(flat, batch_size, desc))
        results = []
        for text, ws in zip(texts, windows):
            found: list[Entity] = []
            for w in ws:
                found.extend(decode_tags(w.offsets, next(probs), self.config.tags, text))
            results.append(found)
        return results
