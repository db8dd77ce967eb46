"""Command-line options and data loading shared by `polyrel train` and `polyrel ner train`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from polyrel.model.choices import PRECISIONS

RESUME_HELP = "continue an interrupted run from the checkpoint it left in --output (same data and settings)"

if TYPE_CHECKING:
    from polyrel.model.encoders.backbone import AdapterConfig


def continued_model(model_class: type, directory: str, needed: Sequence[str], field: str) -> tuple:
    """A saved model to train further (`--init`); refused when the data holds classes it cannot output.

    `field` names the config attribute that lists the model's classes (relation labels, entity types)."""
    model, tokenizer = model_class.from_pretrained(directory)
    unknown = sorted(set(needed) - set(getattr(model.config, field)))
    if unknown:
        raise ValueError(f"--init {directory}: the training data has {field} this model does not output: {', '.join(unknown)}")
    return model, tokenizer


def add_compact_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a compact model (one saved on top of its base encoder), shared by both models."""
    parser.add_argument("--lora-r", type=int, default=None, help="compact model: train LoRA adapters of this rank instead of the whole encoder (0: encoder frozen, heads only)")
    parser.add_argument("--top-layers", type=int, default=0, help="compact model: also train the encoder's last N layers in full (alone: LoRA rank 0)")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Training data and the dev slice that picks the best epoch, shared by both models."""
    parser.add_argument("--train", nargs="+", required=True, help="CrossRE or polyrel JSONL files (.gz ok); several: one joint model")
    parser.add_argument("--dev", nargs="*", default=[], help="dev files for early stopping")
    dev = parser.add_mutually_exclusive_group()
    dev.add_argument("--dev-sample", type=int, default=None, help="early-stop on this many dev sentences (fixed random subset)")
    dev.add_argument("--dev-keys", type=int, default=None,
                     help="early-stop on the dev sentences of this many sentence ids (fixed random subset, seed 0) in every"
                     " language of --dev; sentences with those ids never train, so --train may list dev files too")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="forward passes in bf16 where the device computes it natively (auto), or forced")


def training_data(args: argparse.Namespace) -> tuple[list, list | None]:
    """(train sentences, early-stopping dev sentences) as --dev-sample or --dev-keys select them."""
    from polyrel.model.training.data import heldout_keys, read_corpus, sample

    train = read_corpus(args.train, skip_invalid=args.skip_invalid)
    dev = read_corpus(args.dev, skip_invalid=args.skip_invalid) if args.dev else None
    for corpus in (train, dev):
        if corpus:
            report_losses(corpus)
    if dev is None:
        return train.sentences, None
    if args.dev_keys is None:
        return train.sentences, sample(dev.sentences, args.dev_sample)
    keys = heldout_keys(dev.sentences, args.dev_keys)
    kept = [s for s in train.sentences if s.doc_id not in keys]
    print(f"dev: {args.dev_keys} held-out ids; {len(train.sentences) - len(kept)} training sentences with those ids left out",
          file=sys.stderr)
    return kept, [s for s in dev.sentences if s.doc_id in keys]


def adapter_config(args: argparse.Namespace) -> AdapterConfig | None:
    """None trains and saves the whole encoder; LoRA's alpha is twice its rank."""
    from polyrel.model.encoders.backbone import AdapterConfig

    if args.lora_r is None and not args.top_layers:
        return None
    r = args.lora_r or 0
    return AdapterConfig(r=r, alpha=2 * r, top_layers=args.top_layers)


def report_losses(corpus) -> None:
    """Say what reading left out: skipped records and dropped self-relations, with the first of each."""
    for what, items in (("invalid records skipped", corpus.skipped), ("self-relations dropped", corpus.dropped)):
        if items:
            first = items[0]
            print(f"{len(items)} {what}; first: {first.path}:{first.line}: {first.reason}", file=sys.stderr)
