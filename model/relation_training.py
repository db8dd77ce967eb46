"""Training and evaluation of relation models: the framework around `RelationModel`.

Paper defaults: AdamW, 10 epochs, lr 2e-5 (1e-5 for large encoders), linear warm-up and
decay, gradient clipping; early stopping on dev F1 keeps the best epoch's directory.
Several training files train one joint (multilingual) model. For CPU budgets two switches
trade accuracy for speed, recorded in the saved config's provenance: sampling the
"no relation" pairs of each epoch (`neg_ratio`) and freezing the word-embedding matrix
except the marker rows (`freeze_embeddings`).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from polyrel.model.data import AnnotatedSentence
from polyrel.model.encoding import EncodedPair, PairEncoder, Unfit, collate, length_batches
from polyrel.model.metrics import Report, score
from polyrel.model.backbone import AdapterConfig
from polyrel.model.modeling import RelationModel, RelationModelConfig, add_markers
from polyrel.model.predictor import RelationPredictor

log = logging.getLogger(__name__)


@dataclass
class TrainingConfig:
    epochs: int = 10
    learning_rate: float = 2e-5
    head_learning_rate: float = 1e-3
    batch_size: int = 32
    eval_batch_size: int = 64
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    patience: int = 3
    seed: int = 13
    neg_ratio: float | None = None
    freeze_embeddings: bool = False
    progress: bool = True


@dataclass(frozen=True)
class PairInstance:
    sentence: int
    head: int
    tail: int
    gold: frozenset[str]
    encoded: EncodedPair | None
    unfit: str | None = None


@dataclass
class TrainingResult:
    best_epoch: int
    best_dev_f1: float
    history: list[dict[str, float]] = field(default_factory=list)
    skipped_pairs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def collect_inventory(sentences: Sequence[AnnotatedSentence]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Labels, entity types and related (head type, tail type) pairs seen in training data."""
    labels = sorted({l for s in sentences for r in s.relations for l in r.labels})
    types = sorted({e.type for s in sentences for e in s.entities})
    pairs = sorted({(s.entities[r.head].type, s.entities[r.tail].type) for s in sentences for r in s.relations})
    return tuple(labels), tuple(types), tuple(pairs)


def initialise_model(
    encoder: str, labels: Sequence[str], entity_types: Sequence[str], markers: str = "etm",
    pooling: str = "emp", task: str = "extract", max_length: int = 256,
    type_pairs: Sequence[tuple[str, str]] = (), seed: int = 13, model_id: str = "",
    adapter: AdapterConfig | None = None,
) -> tuple[RelationModel, PreTrainedTokenizerBase]:
    """A new relation model on a pretrained encoder, with the marker tokens added;
    with `adapter`, the encoder stays frozen under LoRA and the model saves compact."""
    from polyrel.model.encoders import resolve_encoder

    seed_everything(seed)
    path = resolve_encoder(encoder)
    tokenizer = AutoTokenizer.from_pretrained(path)
    backbone = AutoModel.from_pretrained(path)
    config = RelationModelConfig(
        encoder=encoder, labels=tuple(labels), entity_types=tuple(entity_types), markers=markers,  # type: ignore[arg-type]
        pooling=pooling, task=task, max_length=min(max_length, tokenizer.model_max_length),  # type: ignore[arg-type]
        type_pairs=tuple(type_pairs), model_id=model_id or f"polyrel-{markers}-{pooling}-{Path(encoder).name}",
    )
    add_markers(backbone, tokenizer, config.marker_inventory())
    model = RelationModel(config, backbone)
    if adapter is not None:
        model.make_compact(adapter, path)
    return model, tokenizer


def build_instances(
    sentences: Sequence[AnnotatedSentence], encoder: PairEncoder, task: str
) -> list[PairInstance]:
    """Candidate pairs: every ordered pair (extract) or the gold-related pairs (classify)."""
    instances = []
    for s_idx, sentence in enumerate(sentences):
        gold = {(r.head, r.tail): frozenset(r.labels) for r in sentence.relations}
        if task == "extract":
            n = len(sentence.entities)
            candidates = [(h, t) for h in range(n) for t in range(n) if h != t]
        else:
            candidates = list(gold)
        words = tuple(sentence.tokens)
        for h, t in candidates:
            encoded = encoder.encode(words, sentence.entities[h], sentence.entities[t])
            unfit = encoded.reason if isinstance(encoded, Unfit) else None
            instances.append(PairInstance(
                s_idx, h, t, gold.get((h, t), frozenset()),
                None if unfit else encoded, unfit,  # type: ignore[arg-type]
            ))
    return instances


def targets(instances: Sequence[PairInstance], config: RelationModelConfig) -> torch.Tensor:
    """Extract: a distribution over outputs (several gold labels share the mass); classify: multi-hot."""
    index = {label: i for i, label in enumerate(config.output_labels)}
    out = torch.zeros(len(instances), len(index))
    for row, instance in enumerate(instances):
        if config.task == "extract" and not instance.gold:
            out[row, 0] = 1.0
        for label in instance.gold:
            out[row, index[label]] = 1.0 / (len(instance.gold) if config.task == "extract" else 1)
    return out


def decode(probs: np.ndarray, config: RelationModelConfig, threshold: float = 0.5) -> list[frozenset[str]]:
    """Label sets from probabilities: argmax (extract; index 0 is none) or all above threshold (classify)."""
    labels = config.output_labels
    if config.task == "extract":
        return [frozenset() if (i := int(p.argmax())) == 0 else frozenset({labels[i]}) for p in probs]
    return [
        frozenset(labels[i] for i in np.flatnonzero(p > threshold)) or frozenset({labels[int(p.argmax())]})
        for p in probs
    ]


def evaluate_instances(predictor: RelationPredictor, instances: Sequence[PairInstance], batch_size: int = 64) -> Report:
    """Scores every candidate; an unfit pair predicts nothing, so its gold labels count as misses."""
    fit = [i for i in instances if i.encoded is not None]
    predicted = decode(predictor.probabilities([i.encoded for i in fit], batch_size), predictor.config)  # type: ignore[misc]
    by_instance = dict(zip((id(i) for i in fit), predicted))
    pred = [by_instance.get(id(i), frozenset()) for i in instances]
    report = score([i.gold for i in instances], pred, predictor.config.labels)
    report.extra["unfit_pairs"] = len(instances) - len(fit)
    report.extra["unfit_gold_labels"] = sum(len(i.gold) for i in instances if i.encoded is None)
    return report


class TrainableMarkerRows:
    """Freezes the word-embedding matrix but the marker rows: far fewer parameters to update
    (the XLM-R vocabulary is 250k rows) and the multilingual embedding space stays intact."""

    def __init__(self, model: RelationModel, marker_ids: Sequence[int]) -> None:
        self.embedding = model.encoder.get_input_embeddings()
        self.embedding.weight.requires_grad_(False)
        self.ids = torch.tensor(sorted(set(marker_ids)))
        self.rows = nn.Parameter(self.embedding.weight[self.ids].clone())
        self.handle = self.embedding.register_forward_hook(self._replace)

    def _replace(self, module: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> torch.Tensor:
        ids = inputs[0]
        slot = torch.searchsorted(self.ids.to(ids.device), ids).clamp(max=len(self.ids) - 1)
        is_marker = self.ids.to(ids.device)[slot] == ids
        return torch.where(is_marker.unsqueeze(-1), self.rows[slot].to(output.dtype), output)

    def merge(self) -> None:
        """Write the trained rows into the matrix so the saved model needs no hook."""
        with torch.no_grad():
            self.embedding.weight[self.ids.to(self.embedding.weight.device)] = self.rows.detach()


class Trainer:
    def __init__(self, model: RelationModel, tokenizer: PreTrainedTokenizerBase, config: TrainingConfig, device: str | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)
        self.encoder = PairEncoder(tokenizer, model.config.marker_inventory(), model.config.max_length)
        self.frozen = (
            TrainableMarkerRows(model, tokenizer.convert_tokens_to_ids(model.config.marker_inventory().tokens))
            if config.freeze_embeddings or model.config.adapter is not None else None
        )

    def _optimizer(self) -> torch.optim.Optimizer:
        """Encoder at the base rate; the freshly initialised head (and marker rows) faster."""
        decay, no_decay, head = [], [], []
        for name, param in self.model.named_parameters():
            if not param.requires_grad:
                continue
            if not name.startswith("encoder."):
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

    def _epoch_instances(self, instances: list[PairInstance], rng: random.Random) -> list[PairInstance]:
        if self.config.neg_ratio is None or self.model.config.task != "extract":
            return instances
        positives = [i for i in instances if i.gold]
        negatives = [i for i in instances if not i.gold]
        keep = min(len(negatives), int(round(self.config.neg_ratio * max(len(positives), 1))))
        return positives + rng.sample(negatives, keep)

    def fit(
        self, train: Sequence[AnnotatedSentence], dev: Sequence[AnnotatedSentence] | None, output_dir: str | Path,
    ) -> TrainingResult:
        started = time.perf_counter()
        c, mc = self.config, self.model.config
        seed_everything(c.seed)
        rng = random.Random(c.seed)
        all_train = build_instances(train, self.encoder, mc.task)
        skipped = Counter(i.unfit for i in all_train if i.unfit)
        train_instances = [i for i in all_train if i.encoded is not None]
        dev_instances = build_instances(dev, self.encoder, mc.task) if dev else []
        if skipped:
            log.warning("skipping %d training pairs that do not fit: %s", sum(skipped.values()), skipped.most_common(3))
        steps_per_epoch = -(-len(self._epoch_instances(train_instances, random.Random(0))) // c.batch_size)
        optimizer = self._optimizer()
        total = steps_per_epoch * c.epochs
        scheduler = get_linear_schedule_with_warmup(optimizer, int(c.warmup_ratio * total), total)
        loss_fn = nn.CrossEntropyLoss() if mc.task == "extract" else nn.BCEWithLogitsLoss()
        pad_id = self.tokenizer.pad_token_id or 0
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.startswith("cuda"))
        result = TrainingResult(best_epoch=0, best_dev_f1=-1.0, skipped_pairs=dict(skipped))
        bad_epochs = 0
        for epoch in range(1, c.epochs + 1):
            self.model.train()
            epoch_instances = self._epoch_instances(train_instances, rng)
            batches = length_batches([len(i.encoded.input_ids) for i in epoch_instances], c.batch_size)  # type: ignore[union-attr]
            rng.shuffle(batches)
            bar = tqdm(batches, desc=f"epoch {epoch}/{c.epochs}", disable=not c.progress, leave=False)
            losses = []
            for batch in bar:
                chosen = [epoch_instances[i] for i in batch]
                tensors = {k: v.to(self.device) for k, v in collate([i.encoded for i in chosen], pad_id).items()}  # type: ignore[misc]
                with autocast:
                    logits = self.model(**tensors)
                loss = loss_fn(logits.float(), targets(chosen, mc).to(self.device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], c.max_grad_norm)
                optimizer.step()
                scheduler.step()
                losses.append(loss.item())
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
            record = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else 0.0}
            if dev_instances:
                report = evaluate_instances(self._predictor(), dev_instances, c.eval_batch_size)
                record.update(dev_micro_f1=report.micro_f1, dev_macro_f1=report.macro_f1)
            dev_f1 = self._selection_score(record)
            result.history.append(record)
            if c.progress:
                tqdm.write(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in record.items() if k != "epoch"))
            if dev_f1 > result.best_dev_f1:
                result.best_epoch, result.best_dev_f1, bad_epochs = epoch, dev_f1, 0
                self.save(output_dir)
            else:
                bad_epochs += 1
                if bad_epochs >= c.patience:
                    break
        result.seconds = time.perf_counter() - started
        Path(output_dir, "training.json").write_text(
            json.dumps({"training_config": asdict(c), "result": asdict(result)}, indent=2) + "\n", encoding="utf-8"
        )
        return result

    def _selection_score(self, record: dict[str, float]) -> float:
        """Dev F1 of the task's protocol (micro for extract, macro for classify); without dev, the last epoch wins."""
        key = "dev_micro_f1" if self.model.config.task == "extract" else "dev_macro_f1"
        return record.get(key, float(record["epoch"]))

    def _predictor(self) -> RelationPredictor:
        return RelationPredictor(self.model, self.encoder, self.device)

    def save(self, output_dir: str | Path) -> None:
        if self.frozen is not None:
            self.frozen.merge()
        self.model.save_pretrained(output_dir, self.tokenizer)
