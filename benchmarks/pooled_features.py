"""Why does ETM-EMP learn more slowly than ETM-ES? What the classifier reads at step 0.

The pretrained encoder, with the type markers added as training starts, reads the gold-related
pairs of one English domain once; each pair is summarised both ways from the same last hidden
layer: ES (the two start markers) and EMP (the max over marker, entity sub-tokens and end marker).
For each summary the benchmark measures, in the same run:

- the share of the vectors' squared norm that is their mean, a component every pair shares and
  the classifier has to learn to see past;
- the share of the mean squared value held by the 8 largest dimensions;
- a linear probe: the softmax head alone on the frozen summaries (Adam at the reduced profile's
  head learning rate, the same seed, batches and epochs for both), scored on the dev pairs as
  the grid scores classify cells — how far the head gets before the encoder moves.

    python -m benchmarks.pooled_features --data ../shared/data/crossre --domain literature

Writes both summaries' figures, the EMP ÷ ES ratios and the command to
`benchmarks/results/pooled_features.json`.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from torch import nn

from benchmarks import results_file
from polyrel.model.batching import length_batches
from polyrel.model.relation.encoding import collate
from polyrel.model.relation.modeling import Pooler, RelationModel
from polyrel.model.relation.training import (
    PairInstance,
    build_instances,
    collect_inventory,
    initialise_model,
    score_instances,
    targets,
)
from polyrel.model.training.data import read_corpus
from polyrel.model.training.trainer import seed_everything

RESULTS = Path(__file__).resolve().parent / "results" / "pooled_features.json"
POOLINGS = ("es", "emp")
TOP_DIMENSIONS = 8
BATCH = 32


def summaries(model: RelationModel, instances: list[PairInstance], pad_id: int) -> dict[str, torch.Tensor]:
    """Each pooling's summary of every instance, from one encoder pass per batch."""
    poolers = {p: Pooler(p, model.encoder.config.hidden_size) for p in POOLINGS}
    out = {p: torch.zeros(len(instances), poolers[p].output_size) for p in POOLINGS}
    encoded = [i.encoded for i in instances]
    model.eval()
    with torch.inference_mode():
        for batch in length_batches([len(e.input_ids) for e in encoded], BATCH):  # type: ignore[union-attr]
            inputs = collate([encoded[i] for i in batch], pad_id, share=False)  # type: ignore[misc]
            hidden = model.encoder(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).last_hidden_state
            for p, pooler in poolers.items():
                out[p][batch] = pooler(hidden, inputs["head_span"], inputs["tail_span"], inputs["head_type"],
                                       inputs["tail_type"]).float()
    return out


def geometry(x: torch.Tensor) -> dict[str, float]:
    squared = x.pow(2)
    per_dimension = squared.mean(dim=0)
    return {
        "shared_mean_share": round(float(x.mean(dim=0).pow(2).sum() / squared.sum(dim=1).mean()), 4),
        f"top{TOP_DIMENSIONS}_dimensions_share": round(float(per_dimension.topk(min(TOP_DIMENSIONS, len(per_dimension))).values.sum() / per_dimension.sum()), 4),
        "mean_norm": round(float(x.norm(dim=1).mean()), 2),
    }


def probe(train: torch.Tensor, train_targets: torch.Tensor, dev: torch.Tensor, epochs: int, lr: float, seed: int) -> torch.Tensor:
    """Dev probabilities of a softmax head trained on frozen summaries."""
    seed_everything(seed)
    head = nn.Linear(train.size(1), train_targets.size(1))
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for batch in torch.randperm(len(train), generator=generator).split(BATCH):
            loss = nn.functional.cross_entropy(head(train[batch]), train_targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        return head(dev).softmax(-1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="Multi-CrossRE folder (one sub-folder per language)")
    parser.add_argument("--domain", default="literature")
    parser.add_argument("--encoder", default="multilingual-e5-small")
    parser.add_argument("--epochs", type=int, default=25, help="probe epochs (the steps control trains up to 25)")
    parser.add_argument("--lr", type=float, default=1e-3, help="probe learning rate (the reduced profile's head rate)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    train_sentences = read_corpus(str(args.data / "en" / f"{args.domain}-train.json.gz")).sentences
    dev_sentences = read_corpus(str(args.data / "en" / f"{args.domain}-dev.json.gz")).sentences
    labels, types, _ = collect_inventory(train_sentences)
    model, tokenizer = initialise_model(args.encoder, labels, types, markers="etm", pooling="emp", task="classify",
                                        classify_output="softmax", word_joining="spaced", seed=args.seed)
    encoder = model.config.pair_encoder(tokenizer)
    pad_id = tokenizer.pad_token_id or 0
    splits = {name: build_instances(s, encoder, "classify") for name, s in (("train", train_sentences), ("dev", dev_sentences))}
    fit = {name: [i for i in instances if i.encoded is not None] for name, instances in splits.items()}
    features = {name: summaries(model, fit[name], pad_id) for name in splits}
    train_targets = targets(fit["train"], model.config)
    poolings: dict[str, dict[str, float]] = {}
    for pooling in POOLINGS:
        probs = probe(features["train"][pooling], train_targets, features["dev"][pooling], args.epochs, args.lr, args.seed)
        report = score_instances(splits["dev"], fit["dev"], probs.numpy(), model.config)
        poolings[pooling] = {**geometry(features["train"][pooling]),
                             "probe_dev_micro_f1": round(report.micro_f1, 4), "probe_dev_macro_f1": round(report.macro_f1, 4)}
    es, emp = poolings["es"], poolings["emp"]
    out: dict[str, object] = {
        "command": results_file.command("benchmarks.pooled_features", argv),
        "encoder": args.encoder, "machine": platform.node(), "domain": args.domain,
        "pairs": {name: len(f) for name, f in fit.items()}, "probe": {"epochs": args.epochs, "lr": args.lr, "seed": args.seed},
        "poolings": poolings, "emp_over_es": {k: round(emp[k] / es[k], 3) if es[k] else None for k in es},
    }
    out["seconds"] = round(time.perf_counter() - start, 1)
    results_file.write(args.results, out)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
