"""Training speed of the relation model: what the accuracy grid's speed switches buy.

ETM-EMP in extract mode on CrossRE English train (all six domains), through polyrel's own
`Trainer`, in one process and one run:
  plain             random batches (a plain training loop), every weight trains — the baseline;
  length buckets    batches of similar length (the trainer's default), every weight trains;
  buckets + frozen  length buckets, word embeddings frozen except the marker rows (--freeze-embeddings);
  + shared passes   a pair and its mirror are batched side by side and read one encoder row
                    (TrainingConfig.share_encoder_passes; the configurations above train one row per pair).
Each configuration records its encoder rows per pair-instance, the work sharing saves.
Each configuration trains twice from the same start, on K and on 2K batches drawn from a full
epoch as that configuration forms them; the difference of the two wall times over the K extra
batches is the training rate (pair-instances/s), free of the fixed costs of a run (optimizer
set-up, saving the model and the checkpoint). Ratios are against `plain`. With `--neg-ratio`,
the instances one epoch holds (and so its time) shrink as well; that is counted, not timed.

    python -m benchmarks.training_speed --data ../shared/data/crossre [--batches 8] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from benchmarks import results_file
from polyrel.model.batching import length_batches
from polyrel.model.relation.training import RelationTask, collect_inventory, initialise_model
from polyrel.model.training.data import read_corpus
from polyrel.model.training.trainer import Trainer, TrainingConfig

RESULTS = Path(__file__).resolve().parent / "results" / "training_speed.json"
CONFIGS: dict[str, tuple[bool, bool, bool]] = {  # name: (length buckets, frozen word embeddings, shared passes)
    "plain": (False, False, False),
    "length buckets": (True, False, False),
    "buckets + frozen embeddings": (True, True, False),
    "buckets + shared passes": (True, False, True),
    "buckets + frozen + shared": (True, True, True),
}


class SampledBatches:
    """A relation task cut down to some batches of one epoch, formed as a plain loop would
    (random) or as the trainer does (length buckets); dev scoring is left out."""

    def __init__(self, task: RelationTask, drawn: int, kept: int, batch_size: int, bucketed: bool, seed: int) -> None:
        self.task = task
        self.selection_key = task.selection_key
        self.selection_floor = task.selection_floor
        self.bucketed = bucketed
        rng = random.Random(seed)
        items = list(task.epoch_items(rng))
        if bucketed:
            groups = length_batches([task.length(i) for i in items], batch_size)
        else:
            order = list(range(len(items)))
            rng.shuffle(order)
            groups = [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
        full = [g for g in groups if len(g) == batch_size]
        if len(full) < drawn:
            raise ValueError(f"the training set holds {len(full)} full batches, fewer than the {drawn} asked for")
        # The same `drawn` batches for every `kept`, so a longer run extends a shorter one; the
        # trainer re-buckets what it gets, and equal keys keep a random batch as drawn.
        self.items = [items[i] for group in rng.sample(full, drawn)[:kept] for i in group]

    def epoch_items(self, rng: random.Random) -> Sequence[Any]:
        return self.items

    def rows_per_pair(self, batch_size: int) -> float:
        """Encoder input rows per pair-instance in the batches the trainer forms from these items."""
        batches = length_batches([self.length(i) for i in self.items], batch_size)
        rows = sum(len(self.batch([self.items[k] for k in batch])[0]["input_ids"]) for batch in batches)
        return rows / len(self.items)

    def length(self, item: Any) -> int:
        return self.task.length(item) if self.bucketed else 0

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        return self.task.batch(items)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.task.loss(logits, targets)

    def evaluate(self, model: Any, device: str) -> dict[str, float]:
        return {}


def timed_fit(encoder: str, train: list, drawn: int, batches: int, batch_size: int, bucketed: bool, frozen: bool,
              shared: bool, seed: int, out: Path) -> tuple[float, int, float]:
    """Wall seconds of one epoch over the first `batches` of `drawn` batches from a fresh model,
    the size of a full epoch and the encoder rows per pair of those batches."""
    labels, types, pairs = collect_inventory(train)
    model, tokenizer = initialise_model(encoder, labels, types, "etm", "emp", "extract", 256, pairs, seed)
    config = TrainingConfig(epochs=1, batch_size=batch_size, seed=seed, freeze_embeddings=frozen,
                            share_encoder_passes=shared, progress=False)
    task = RelationTask(model, tokenizer, train, None, config)
    sampled = SampledBatches(task, drawn, batches, batch_size, bucketed, seed)
    started = time.perf_counter()
    Trainer(model, tokenizer, config).fit(sampled, out)
    return time.perf_counter() - started, len(task.instances), sampled.rows_per_pair(batch_size)


def measure(encoder: str, train: list, batches: int, batch_size: int, bucketed: bool, frozen: bool, shared: bool,
            seed: int, work: Path) -> dict[str, Any]:
    short, epoch_instances, _ = timed_fit(encoder, train, 2 * batches, batches, batch_size, bucketed, frozen, shared,
                                          seed, work / "short")
    long, _, rows_per_pair = timed_fit(encoder, train, 2 * batches, 2 * batches, batch_size, bucketed, frozen, shared,
                                       seed, work / "long")
    rate = batches * batch_size / (long - short) if long > short else None
    return {"length_buckets": bucketed, "frozen_embeddings": frozen, "shared_passes": shared,
            "seconds_k_batches": round(short, 2),
            "seconds_2k_batches": round(long, 2), "encoder_rows_per_pair": round(rows_per_pair, 3),
            "instances_per_s": round(rate, 2) if rate else None,
            "epoch_hours_all_pairs": round(epoch_instances / rate / 3600, 2) if rate else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the crossre folder (en/*-train.json.gz)")
    parser.add_argument("--encoder", default="multilingual-e5-small")
    parser.add_argument("--batches", type=int, default=8, help="K: the extra batches timed per configuration")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--neg-ratio", type=float, default=2.0, help="the sampled epoch size to count")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    train = read_corpus(sorted((args.data / "en").glob("*-train.json.gz"))).sentences
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (bucketed, frozen, shared) in CONFIGS.items():
            runs[name] = measure(args.encoder, train, args.batches, args.batch_size, bucketed, frozen, shared, args.seed,
                                 Path(tmp) / name.replace(" ", "_").replace("+", "and"))
            print(f"{name}: {runs[name]['instances_per_s']} instances/s", flush=True)
    base = runs["plain"]["instances_per_s"]
    for entry in runs.values():
        rate = entry["instances_per_s"]
        entry["ratio_to_plain"] = round(rate / base, 2) if rate and base else None
    labels, types, pairs = collect_inventory(train)
    model, tokenizer = initialise_model(args.encoder, labels, types, "etm", "emp", "extract", 256, pairs, args.seed)
    task = RelationTask(model, tokenizer, train, None, TrainingConfig(neg_ratio=args.neg_ratio))
    all_pairs, sampled = len(task.instances), len(task.epoch_items(random.Random(args.seed)))
    result = {
        "command": results_file.command("benchmarks.training_speed", argv),
        "machine": {"host": platform.node(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "threads": torch.get_num_threads(), "torch": torch.__version__},
        "encoder": args.encoder, "batch_size": args.batch_size, "batches_timed": args.batches,
        "train_sentences": len(train), "epoch_instances": {"all_pairs": all_pairs, f"neg_ratio_{args.neg_ratio:g}": sampled},
        "configs": runs,
    }
    results_file.write(args.results, result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
