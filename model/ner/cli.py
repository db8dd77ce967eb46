"""`polyrel ner train | evaluate | predict`: polyrel's own entity recogniser."""

from __future__ import annotations

import argparse
import json
import sys

from polyrel.model.training.arguments import (
    RESUME_HELP,
    adapter_config,
    add_compact_arguments,
    add_data_arguments,
    continued_model,
    training_data,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    ner = subparsers.add_parser("ner", help="train, evaluate and run polyrel's NER model")
    commands = ner.add_subparsers(dest="ner_command", required=True, help="what to do with the NER model")

    train = commands.add_parser("train", help="train on CrossRE-style entity annotations")
    add_data_arguments(train)
    train.add_argument("--output", required=True, help="model directory to write (best epoch)")
    train.add_argument("--init", metavar="MODEL_DIR", default=None,
                       help="train further from a saved NER model: its encoder, entity types, window and adapter come"
                       " from MODEL_DIR and the model options below are ignored")
    train.add_argument("--encoder", default="multilingual-e5-small", help="HF name or local path; multilingual-e5-small works offline")
    train.add_argument("--max-length", type=int, default=256, help="sub-tokens per window; longer texts are windowed")
    train.add_argument("--epochs", type=int, default=10, help="passes over the training data")
    train.add_argument("--lr", type=float, default=5e-5, help="encoder learning rate")
    train.add_argument("--head-lr", type=float, default=1e-3, help="tagging head (and adapter) learning rate")
    train.add_argument("--batch-size", type=int, default=16, help="windows per optimizer step")
    train.add_argument("--patience", type=int, default=3, help="epochs without dev improvement before stopping")
    train.add_argument("--seed", type=int, default=13, help="random seed")
    add_compact_arguments(train)
    train.add_argument("--language-fraction", type=float, default=None,
                       help="each epoch trains this fraction of the sentences of languages not in --full-languages")
    train.add_argument("--full-languages", nargs="+", default=["en"], help="languages trained in full every epoch (default: en)")
    train.add_argument("--freeze-embeddings", action="store_true", help="keep the word-embedding matrix fixed")
    train.add_argument("--skip-invalid", action="store_true", help="skip and count invalid records instead of failing")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--resume", action="store_true", help=RESUME_HELP)
    train.set_defaults(func=run_train)

    evaluate = commands.add_parser("evaluate", help="entity-level micro P/R/F1 and per type")
    evaluate.add_argument("--model", required=True, help="NER model directory")
    evaluate.add_argument("--data", nargs="+", required=True, help="annotated CrossRE or polyrel JSONL files")
    evaluate.add_argument("--report", help="write the JSON report here")
    evaluate.add_argument("--batch-size", type=int, default=32, help="windows per inference batch")
    evaluate.add_argument("--skip-invalid", action="store_true", help="skip and count invalid records instead of failing")
    evaluate.set_defaults(func=run_evaluate)

    predict = commands.add_parser("predict", help="entities of raw texts (JSONL with `text`) as character spans")
    predict.add_argument("--model", required=True, help="NER model directory")
    predict.add_argument("--input", required=True, help="JSONL with a `text` per line")
    predict.add_argument("--output", required=True, help="JSONL: each line with its entities (character spans, type, score)")
    predict.add_argument("--batch-size", type=int, default=32, help="windows per inference batch")
    predict.set_defaults(func=run_predict)

    annotate = commands.add_parser(
        "annotate", help="add the NER's own non-gold entities to annotated sentences (relation-less), so a relation"
        " model trained on them learns to give pairs with wrong spans no relation")
    annotate.add_argument("--model", required=True, help="NER model directory")
    annotate.add_argument("--data", nargs="+", required=True, help="annotated CrossRE or polyrel JSONL files")
    annotate.add_argument("--output-dir", required=True,
                          help="writes each input as polyrel JSONL OUTPUT_DIR/<its folder>/<its name>.jsonl.gz (the folder"
                          " names the language, as in Multi-CrossRE)")
    annotate.add_argument("--min-score", type=float, default=None, help="entity confidence floor (default: the model's)")
    annotate.add_argument("--batch-size", type=int, default=32, help="windows per inference batch")
    annotate.add_argument("--skip-invalid", action="store_true", help="skip and count invalid records instead of failing")
    annotate.add_argument("--quiet", action="store_true", help="no progress bar")
    annotate.set_defaults(func=run_annotate)


def run_train(args: argparse.Namespace) -> int:
    from polyrel.model.ner.modeling import NerModel
    from polyrel.model.ner.training import NerTask, initialise_ner
    from polyrel.model.training.trainer import Trainer, TrainingConfig

    train, dev = training_data(args)
    types = sorted({e.type for s in train for e in s.entities})
    if args.init:
        model, tokenizer = continued_model(NerModel, args.init, types, "entity_types")
    else:
        model, tokenizer = initialise_ner(args.encoder, types, args.max_length, args.seed, adapter_config(args))
    config = TrainingConfig(
        epochs=args.epochs, learning_rate=args.lr, head_learning_rate=args.head_lr, batch_size=args.batch_size,
        patience=args.patience, seed=args.seed, freeze_embeddings=args.freeze_embeddings, precision=args.precision,
        language_fraction=args.language_fraction, full_languages=tuple(args.full_languages),
        initialised_from=args.init, progress=not args.quiet,
    )
    result = Trainer(model, tokenizer, config).fit(NerTask(model, tokenizer, train, dev, config), args.output, resume=args.resume)
    chosen = f"dev F1 {result.best_dev_f1:.4f}" if result.best_dev_f1 is not None else "no dev set: last epoch"
    print(f"best epoch {result.best_epoch} ({chosen}) saved to {args.output} in {result.seconds:.0f}s")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from polyrel.model.ner.modeling import EntityRecognizer
    from polyrel.model.ner.training import evaluate_ner
    from polyrel.model.training.data import read_corpus
    from polyrel.model.training.metrics import write_report

    corpus = read_corpus(args.data, skip_invalid=args.skip_invalid)
    report = evaluate_ner(EntityRecognizer.load(args.model), corpus.sentences, args.batch_size)
    report.extra.update(model=str(args.model), data=list(args.data), skipped_records=len(corpus.skipped))
    print(report.table())
    if args.report:
        write_report(report, args.report)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from polyrel.model.ner.modeling import EntityRecognizer

    recognizer = EntityRecognizer.load(args.model)
    with open(args.input, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    bad = [i + 1 for i, r in enumerate(records) if not isinstance(r.get("text"), str)]
    if bad:
        print(f"{args.input}: lines {bad[:10]} have no string `text`", file=sys.stderr)
        return 2
    found = recognizer([r["text"] for r in records], args.batch_size, desc="ner predict")
    with open(args.output, "w", encoding="utf-8") as out:
        for record, entities in zip(records, found):
            record["entities"] = [
                {"start": e.start, "end": e.end, "type": e.type, "text": record["text"][e.start:e.end], "score": round(e.score, 4)}
                for e in entities
            ]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


def run_annotate(args: argparse.Namespace) -> int:
    from collections import Counter
    from pathlib import Path

    from polyrel.model.ner.annotate import with_predicted_entities
    from polyrel.model.ner.modeling import EntityRecognizer
    from polyrel.model.training.data import read_corpus, write_jsonl

    recognizer = EntityRecognizer.load(args.model)
    total: Counter[str] = Counter()
    for path in args.data:
        corpus = read_corpus(path, skip_invalid=args.skip_invalid)
        sentences, counts = with_predicted_entities(corpus.sentences, recognizer, args.min_score, args.batch_size,
                                                    None if args.quiet else Path(path).name)
        name = Path(path).name.removesuffix(".gz").removesuffix(".json").removesuffix(".jsonl")
        target = Path(args.output_dir, Path(path).parent.name, f"{name}.jsonl.gz")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(sentences, str(target))
        total.update(counts)
        total["sentences"] += len(sentences)
        total["skipped_records"] += len(corpus.skipped)
        print(f"{target}: {len(sentences)} sentences, {counts['added']} entities added", file=sys.stderr)
    print(json.dumps(dict(total)))
    return 0
