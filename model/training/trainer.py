"""The training loop both polyrel models share: AdamW, linear warm-up/decay, clipping,
length-bucketed batches, early stopping on dev F1, best-epoch checkpoint, progress bar, and
resuming after an interruption from the last finished epoch.

What differs between tasks (which items, how a batch becomes tensors, the loss, how dev is
scored) comes from a `TrainingTask`; the loop itself is written once.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from polyrel import progress
from polyrel.model.batching import length_batches
from polyrel.model.encoders.backbone import EncoderModel, input_embeddings, json_roundtrip, token_ids
from polyrel.model.precision import autocast, resolve
from polyrel.model.training import checkpoint

log = logging.getLogger(__name__)

CHECKPOINT = checkpoint.STATE  # in the output directory while training runs


@dataclass
class TrainingConfig:
    """Paper defaults: 10 epochs, lr 2e-5 for base-size encoders (1e-5 large)."""

    epochs: int = 10
    learning_rate: float = 2e-5
    head_learning_rate: float = 1e-3
    batch_size: int = 32
    eval_batch_size: int = 64
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    patience: int = 3
    min_epochs: int = 0  # early stopping never ends a run before this epoch
    seed: int = 13
    neg_ratio: float | None = None  # relation extract mode: no-relation pairs kept per gold pair each epoch
    freeze_embeddings: bool = False
    # relation models: a pair and its mirror in one batch read one encoder row (`encoding.collate`),
    # about half the encoder work when every pair trains; off, each pair has its own row and dropout mask
    share_encoder_passes: bool = True
    # relation extract mode: each epoch trains this fraction of the sentences of every language not in
    # `full_languages` (a fresh sample per epoch), so translations widen the data at a bounded cost
    language_fraction: float | None = None
    full_languages: tuple[str, ...] = ("en",)
    precision: str = "auto"  # forward passes in bf16 where the device computes it natively (model/precision.py)
    # compact models training top layers alone: compute the states below them once (model/training/layer_cache.py)
    cache_lower_layers: bool = True
    # a saved model this run continues from (`polyrel train --init`), recorded in training.json; None: fresh
    initialised_from: str | None = None
    progress: bool = True


# Settings added after checkpoints were first written, with the value an older checkpoint
# trained under: one that lacks the setting resumes when the run asks for that value.
LEGACY_SETTINGS: dict[str, Any] = {
    "share_encoder_passes": False, "language_fraction": None, "full_languages": ("en",), "precision": "fp32",
    "cache_lower_layers": False, "initialised_from": None, "min_epochs": 0,
}


@dataclass
class TrainingResult:
    best_epoch: int
    best_dev_f1: float | None
    history: list[dict[str, float]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # summed over every run that contributed epochs
    resumed_after_epoch: int = 0  # 0: trained in one go


class TrainingTask(Protocol):
    selection_key: str  # the dev score that picks the best epoch
    selection_floor: float  # that score for a model that has not learned yet; patience starts above it

    def epoch_items(self, rng: random.Random) -> Sequence[Any]: ...

    def length(self, item: Any) -> int: ...

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, torch.Tensor], torch.Tensor]: ...

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor: ...

    def evaluate(self, model: EncoderModel, device: str) -> dict[str, float]: ...


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class TrainableRows:
    """Freezes the word-embedding matrix except some rows (the marker tokens'): the XLM-R
    vocabulary is 250k rows, so most of an optimizer step goes away, and the multilingual
    embedding space the encoder transfers through stays intact."""

    def __init__(self, model: EncoderModel, token_ids: Sequence[int]) -> None:
        self.embedding = input_embeddings(model.encoder)
        self.embedding.weight.requires_grad_(False)
        self.ids = torch.tensor(sorted(set(token_ids)), dtype=torch.long)
        self.rows = nn.Parameter(self.embedding.weight[self.ids].clone())
        if len(self.ids):
            self.embedding.register_forward_hook(self._replace)

    def _replace(self, module: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> torch.Tensor:
        ids = inputs[0]
        known = self.ids.to(ids.device)
        slot = torch.searchsorted(known, ids).clamp(max=len(known) - 1)
        hit = known[slot] == ids
        return torch.where(hit.unsqueeze(-1), self.rows[slot].to(output.dtype), output)

    def merge(self) -> None:
        """Write the trained rows into the matrix so the saved model needs no hook."""
        with torch.no_grad():
            self.embedding.weight[self.ids.to(self.embedding.weight.device)] = self.rows.detach()


class Trainer:
    def __init__(
        self, model: EncoderModel, tokenizer: PreTrainedTokenizerBase, config: TrainingConfig, device: str | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)
        adapter = model.config.adapter
        frozen = (config.freeze_embeddings or adapter is not None) and not (adapter is not None and adapter.r == 0)
        self.frozen = TrainableRows(model, token_ids(tokenizer, model.special_tokens(model.config))) if frozen else None

    def _optimizer(self) -> torch.optim.Optimizer:
        """Encoder at the base rate; the freshly initialised heads (and marker rows) faster."""
        decay, no_decay, head = [], [], []
        for name, param in self.model.named_parameters():
            if not param.requires_grad:
                continue
            if not name.startswith("encoder.") or "lora_" in name:
                head.append(param)
            elif param.ndim < 2 or "embeddings" in name:
                no_decay.append(param)
            else:
                decay.append(param)
        if self.frozen is not None:
            head.append(self.frozen.rows)
        c = self.config
        return torch.optim.AdamW([
            {"params": decay, "weight_decay": c.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
            {"params": head, "weight_decay": 0.0, "lr": c.head_learning_rate},
        ], lr=c.learning_rate)

    def fit(self, task: TrainingTask, output_dir: str | Path, resume: bool = False,
            stop_after: int | None = None) -> TrainingResult:
        """Train, keeping the best epoch in `output_dir`. After every epoch the full training
        state is written to `output_dir/checkpoint.json` (+ `.safetensors`); with `resume` a run continues from it and
        ends with the same weights and history as an uninterrupted one (the checkpoint is
        removed once training ends). `stop_after` ends this run after that epoch of the schedule,
        keeping the checkpoint, so a budget-bound run is reproducible and can be resumed."""
        started = time.perf_counter()
        c = self.config
        seed_everything(c.seed)
        rng = random.Random(c.seed)
        steps_per_epoch = -(-len(task.epoch_items(random.Random(0))) // c.batch_size)
        optimizer = self._optimizer()
        total = max(steps_per_epoch * c.epochs, 1)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(c.warmup_ratio * total), total)
        compute = autocast(self.device, resolve(c.precision, self.device))
        params = [p for g in optimizer.param_groups for p in g["params"]]
        result, bad_epochs = TrainingResult(best_epoch=0, best_dev_f1=None), 0
        directory = Path(output_dir)
        directory.mkdir(parents=True, exist_ok=True)
        if resume and (directory / CHECKPOINT).is_file():
            result, bad_epochs = self._restore(directory, optimizer, scheduler, rng)
            log.info("%s resumed after epoch %d", self.model.config.model_id, result.resumed_after_epoch)
        prior = result.seconds
        for epoch in range(len(result.history) + 1, c.epochs + 1):
            self.model.train()
            items = task.epoch_items(rng)
            batches = length_batches([task.length(i) for i in items], c.batch_size)
            rng.shuffle(batches)
            losses: list[float] = []
            bar = progress.bar(batches, desc=f"epoch {epoch}/{c.epochs}", unit="batch", show=c.progress)
            for batch in bar:
                inputs, targets = task.batch([items[i] for i in batch])
                with compute:
                    logits = self.model(**{k: v.to(self.device) for k, v in inputs.items()})
                loss = task.loss(logits.float(), targets.to(self.device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(params, c.max_grad_norm)
                optimizer.step()
                scheduler.step()
                losses.append(loss.item())
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
            self.model.eval()
            record: dict[str, float] = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else 0.0}
            record.update(task.evaluate(self.model, self.device))
            result.history.append(record)
            result.seconds = prior + time.perf_counter() - started
            summary = f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in record.items() if k != "epoch")
            if c.progress:
                tqdm.write(summary)
            log.info("%s %s (%.0f s)", self.model.config.model_id, summary, result.seconds)
            score = record.get(task.selection_key)
            best = result.best_dev_f1 if result.best_dev_f1 is not None else -1.0
            if score is None or score > best:  # without dev, the last epoch is kept
                bad_epochs = 0
                result.best_epoch, result.best_dev_f1 = epoch, score
                self.save(output_dir)
            elif best > task.selection_floor:  # patience starts once the model has left its untrained plateau
                bad_epochs += 1
                if bad_epochs >= c.patience and epoch >= c.min_epochs:
                    break
            self._checkpoint(directory, result, bad_epochs, optimizer, scheduler, rng)
            if stop_after is not None and epoch >= stop_after and epoch < c.epochs:
                result.seconds = prior + time.perf_counter() - started
                return result
        result.seconds = prior + time.perf_counter() - started
        Path(output_dir, "training.json").write_text(
            json.dumps({"training_config": asdict(c), "result": asdict(result)}, indent=2) + "\n", encoding="utf-8"
        )
        checkpoint.remove(directory)
        return result

    def _trainable(self) -> dict[str, nn.Parameter]:
        named = {n: p for n, p in self.model.named_parameters() if p.requires_grad}
        if self.frozen is not None:
            named["trainable_embedding_rows"] = self.frozen.rows
        return named

    def _checkpoint(self, directory: Path, result: TrainingResult, bad_epochs: int, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler, rng: random.Random) -> None:
        """Everything the next epoch depends on (`model/training/checkpoint.py`: safetensors and JSON, no pickle)."""
        optimizer_meta, tensors = checkpoint.split_optimizer(optimizer.state_dict())
        rng_meta, rng_tensors = checkpoint.rng_states(rng)
        tensors.update(rng_tensors)
        tensors.update({f"parameter.{n}": p.detach().cpu() for n, p in self._trainable().items()})
        checkpoint.save(directory, {
            "config": asdict(self.config), "result": asdict(result), "bad_epochs": bad_epochs,
            "optimizer": optimizer_meta, "scheduler": scheduler.state_dict(), "rng": rng_meta,
        }, tensors)

    def _restore(self, directory: Path, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, rng: random.Random) -> tuple[TrainingResult, int]:
        """The result so far and the epochs without improvement; weights, optimizer, schedule
        and random generators are restored in place."""
        saved, tensors = checkpoint.load(directory)
        path = directory / checkpoint.STATE
        ours = {k: v for k, v in json_roundtrip(asdict(self.config)).items() if k != "progress"}
        legacy = json_roundtrip(LEGACY_SETTINGS)
        changed = sorted(k for k, v in ours.items() if saved["config"].get(k, legacy.get(k)) != v)
        if changed:
            raise ValueError(f"{path} was written with other training settings ({', '.join(changed)} differ); "
                             "resume with the same settings or delete it to start over")
        params = self._trainable()
        stored = {k.removeprefix("parameter."): t for k, t in tensors.items() if k.startswith("parameter.")}
        if {n: tuple(p.shape) for n, p in params.items()} != {n: tuple(t.shape) for n, t in stored.items()}:
            raise ValueError(f"{path} was written for another model (its trainable parameters differ from this one's)")
        with torch.no_grad():
            for name, param in params.items():
                param.copy_(stored[name])
        optimizer.load_state_dict(checkpoint.join_optimizer(saved["optimizer"], tensors))
        scheduler.load_state_dict(saved["scheduler"])
        checkpoint.restore_rng(saved["rng"], tensors, rng)
        result = TrainingResult(**saved["result"])
        result.resumed_after_epoch = len(result.history)
        return result, saved["bad_epochs"]

    def save(self, output_dir: str | Path) -> None:
        if self.frozen is not None:
            self.frozen.merge()
        self.model.save_pretrained(output_dir, self.tokenizer)
