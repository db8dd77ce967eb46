"""The training loop before and after bf16 autocast and cached lower layers, in one run.

The shipped relation recipe (ETM-EMP, extract mode, the encoder's top layers trained in full,
`--top-layers N`) trains twice from the same initialisation, seed and batches on CrossRE English
train: once as the loop ran before (float32, every layer computed for every step) and once as it
runs now (bf16 autocast where the CPU has native bf16, the frozen layers' states computed once
and reused). Each epoch is timed and scored on the same fixed dev sample; the record gives the
speed ratio and the dev F1 of both after every epoch (parity: how far apart they are).

    python -m benchmarks.training_loop --data ../shared/data/crossre [--epochs 2] [--top-layers 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks import results_file
from polyrel.model.encoders.backbone import AdapterConfig
from polyrel.model.precision import cpu_has_bf16
from polyrel.model.relation.training import RelationTask, collect_inventory, initialise_model
from polyrel.model.training.data import read_corpus, sample
from polyrel.model.training.trainer import Trainer, TrainingConfig

RESULTS = Path(__file__).resolve().parent / "results" / "training_loop.json"
LOOPS = {"before: float32, full passes": ("fp32", False), "now: bf16 autocast, cached lower layers": ("auto", True)}


class TimedTask:
    """A relation task whose dev scoring is timed apart, so epoch times count training only."""

    def __init__(self, task: RelationTask) -> None:
        self.task = task
        self.selection_key, self.selection_floor = task.selection_key, task.selection_floor
        self.epoch_items, self.length, self.batch, self.loss = task.epoch_items, task.length, task.batch, task.loss
        self.marks: list[float] = [time.perf_counter()]
        self.eval_seconds = 0.0

    def evaluate(self, model: Any, device: str) -> dict[str, float]:
        self.marks.append(time.perf_counter())
        scores = self.task.evaluate(model, device)
        self.eval_seconds += time.perf_counter() - self.marks[-1]
        self.marks.append(time.perf_counter())
        return scores

    def epoch_seconds(self) -> list[float]:
        """Wall time of each epoch's training steps (from the start or the last dev scoring to the next)."""
        return [round(self.marks[i + 1] - self.marks[i], 1) for i in range(0, len(self.marks) - 1, 2)]


def train_once(train: list, dev: list, args: argparse.Namespace, precision: str, cache: bool, out: Path) -> dict[str, Any]:
    labels, types, pairs = collect_inventory(train)
    model, tokenizer = initialise_model(args.encoder, labels, types, "etm", "emp", "extract", 256, pairs, args.seed,
                                        adapter=AdapterConfig(r=0, alpha=0, top_layers=args.top_layers))
    config = TrainingConfig(epochs=args.epochs, learning_rate=1e-4, head_learning_rate=1e-3, batch_size=32,
                            patience=args.epochs, seed=args.seed, neg_ratio=args.neg_ratio, precision=precision,
                            cache_lower_layers=cache, progress=False)
    task = TimedTask(RelationTask(model, tokenizer, train, dev, config))
    result = Trainer(model, tokenizer, config, device="cpu").fit(task, out)
    seconds = task.epoch_seconds()
    return {"precision": precision, "cache_lower_layers": cache, "epoch_seconds": seconds,
            "instances_per_epoch": len(task.epoch_items(random.Random(0))),
            "dev_micro_f1": [round(h["dev_micro_f1"], 4) for h in result.history],
            "dev_seconds": round(task.eval_seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the crossre folder (en/*-train.json.gz, en/*-dev.json.gz)")
    parser.add_argument("--encoder", default="multilingual-e5-small", help="base encoder")
    parser.add_argument("--epochs", type=int, default=2, help="epochs each loop trains")
    parser.add_argument("--top-layers", type=int, default=3, help="encoder layers trained in full")
    parser.add_argument("--neg-ratio", type=float, default=2.0, help="no-relation pairs sampled per gold pair each epoch")
    parser.add_argument("--train-sample", type=int, default=None, help="train sentences (fixed, seed 0; default: all)")
    parser.add_argument("--dev-sample", type=int, default=200, help="dev sentences scored after each epoch (seed 0)")
    parser.add_argument("--seed", type=int, default=13, help="seed of both runs")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the record goes")
    args = parser.parse_args(argv)
    train = sample(read_corpus(sorted((args.data / "en").glob("*-train.json.gz"))).sentences, args.train_sample)
    dev = sample(read_corpus(sorted((args.data / "en").glob("*-dev.json.gz"))).sentences, args.dev_sample)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (precision, cache) in LOOPS.items():
            runs[name] = train_once(train, dev, args, precision, cache, Path(tmp) / str(len(runs)))
            print(f"{name}: {runs[name]}", flush=True)
    before, now = (runs[n] for n in LOOPS)
    record = {
        "command": results_file.command("benchmarks.training_loop", argv),
        "machine": {"host": platform.node(), "threads": torch.get_num_threads(), "torch": torch.__version__,
                    "cpu_bf16": cpu_has_bf16()},
        "recipe": {"model": "ETM-EMP extract", "top_layers": args.top_layers, "neg_ratio": args.neg_ratio,
                   "train_sentences": len(train), "dev_sentences": len(dev), "epochs": args.epochs, "seed": args.seed},
        "runs": runs,
        "speedup_per_epoch": [round(b / n, 2) for b, n in zip(before["epoch_seconds"], now["epoch_seconds"])],
        "speedup_total": round(sum(before["epoch_seconds"]) / sum(now["epoch_seconds"]), 2),
        "dev_f1_difference": [round(n - b, 4) for b, n in zip(before["dev_micro_f1"], now["dev_micro_f1"])],
    }
    results_file.write(args.results, record)
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
