"""`polyrel train | evaluate | predict`: the relation model from the command line."""

from __future__ import annotations

import argparse
import json
import sys

from polyrel.model.choices import MARKER_SCHEMES, PAIR_SCHEMES, POOLINGS, PRECISIONS, WORD_JOININGS
from polyrel.model.training.arguments import (
    RESUME_HELP,
    adapter_config,
    add_compact_arguments,
    add_data_arguments,
    continued_model,
    report_losses,
    training_data,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="train a relation model (several --train files: one joint model)")
    add_data_arguments(train)
    train.add_argument("--output", required=True, help="model directory to write (best epoch)")
    train.add_argument("--init", metavar="MODEL_DIR", default=None,
                       help="train further from a saved relation model: its encoder, markers, pooling, labels and adapter"
                       " come from MODEL_DIR and the model options below are ignored")
    train.add_argument("--encoder", default="multilingual-e5-small", help="HF name or local path; multilingual-e5-small works offline")
    train.add_argument("--markers", choices=MARKER_SCHEMES, default="etm", help="entity markers: etm (type markers) or um (uniform)")
    train.add_argument("--pooling", choices=POOLINGS, default="emp", help="summary vector: sentence start, entity starts, entity max pooling")
    train.add_argument("--task", choices=("extract", "classify"), default="extract", help="extract: every pair, \"no relation\" included; classify: gold-related pairs only")
    train.add_argument("--classify-output", choices=("sigmoid", "softmax"), default="softmax",
                       help="classify mode: a softmax over labels, as the CrossRE baseline (default), or one sigmoid"
                       " per label (collapsed to the majority label on CrossRE's smaller domains)")
    train.add_argument("--word-joining", choices=WORD_JOININGS, default="as_written",
                       help="Chinese/Japanese/Thai words read as written, without a word-start piece between them"
                       " (default), or spaced, as models before this option were trained")
    train.add_argument("--pairs", choices=PAIR_SCHEMES, default="ordered",
                       help="candidates: every ordered entity pair, or one per pair in sentence order with"
                       " direction-tagged labels (the paper's scheme)")
    train.add_argument("--max-length", type=int, default=256, help="sub-tokens per input; longer pairs are windowed or skipped")
    train.add_argument("--epochs", type=int, default=10, help="passes over the training data")
    train.add_argument("--lr", type=float, default=2e-5, help="encoder learning rate (paper: 2e-5 base, 1e-5 large)")
    train.add_argument("--head-lr", type=float, default=1e-3, help="classifier (and marker rows) learning rate")
    train.add_argument("--batch-size", type=int, default=32, help="pairs per optimizer step")
    train.add_argument("--patience", type=int, default=3, help="epochs without dev improvement before stopping")
    train.add_argument("--seed", type=int, default=13, help="random seed of initialisation, sampling and order")
    train.add_argument("--neg-ratio", type=float, default=None, help="sample at most this many no-relation pairs per gold pair each epoch")
    train.add_argument("--language-fraction", type=float, default=None,
                       help="each epoch trains this fraction of the sentences of languages not in --full-languages")
    train.add_argument("--full-languages", nargs="+", default=["en"], help="languages trained in full every epoch (default: en)")
    train.add_argument("--freeze-embeddings", action="store_true", help="train only the marker rows of the word-embedding matrix")
    add_compact_arguments(train)
    train.add_argument("--no-shared-passes", dest="shared_passes", action="store_false",
                       help="one encoder row per pair, as models trained before mirrors shared a pass saw their batches")
    train.add_argument("--skip-invalid", action="store_true", help="skip and count invalid records instead of failing")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--resume", action="store_true", help=RESUME_HELP)
    train.add_argument("--stop-after", type=int, metavar="EPOCH",
                       help="end this run after that epoch of the --epochs schedule (the checkpoint stays: --resume continues)")
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser("evaluate", help="score a model on annotated data")
    evaluate.add_argument("--model", required=True, help="relation model directory")
    evaluate.add_argument("--data", nargs="+", required=True, help="annotated CrossRE or polyrel JSONL files (gold entities)")
    evaluate.add_argument("--report", help="write the JSON report here")
    evaluate.add_argument("--confusion-png", help="also draw the confusion matrix")
    evaluate.add_argument("--batch-size", type=int, default=64, help="pairs per inference batch")
    evaluate.add_argument("--sample", type=int, default=None, help="score a fixed random subset of this many sentences")
    evaluate.add_argument("--precision", choices=PRECISIONS, default="auto",
                          help="compute in bf16 where the hardware has it natively (auto), or as forced")
    evaluate.add_argument("--skip-invalid", action="store_true", help="skip and count invalid records instead of failing")
    evaluate.set_defaults(func=run_evaluate)

    predict = subparsers.add_parser("predict", help="score the entity pairs of JSONL sentences")
    predict.add_argument("--model", required=True, help="relation model directory")
    predict.add_argument("--input", required=True, help="polyrel or CrossRE JSONL with entities")
    predict.add_argument("--output", required=True, help="JSONL: each sentence with scored relations")
    predict.add_argument("--batch-size", type=int, default=64, help="pairs per inference batch")
    predict.add_argument("--threshold", type=float, default=None,
                         help="write the labels whose probability reaches this (default: the model's decision)")
    predict.add_argument("--skip-invalid", action="store_true", help="skip and count invalid records instead of failing")
    predict.add_argument("--precision", choices=PRECISIONS, default="auto",
                         help="compute in bf16 where the hardware has it natively (auto), or as forced")
    predict.set_defaults(func=run_predict)


def run_train(args: argparse.Namespace) -> int:
    from polyrel.model.relation.modeling import RelationModel
    from polyrel.model.relation.training import RelationTask, collect_inventory, initialise_model
    from polyrel.model.training.trainer import Trainer, TrainingConfig

    train, dev = training_data(args)
    labels, types, type_pairs = collect_inventory(train)
    if args.init:
        model, tokenizer = continued_model(RelationModel, args.init, labels, "labels")
    else:
        model, tokenizer = initialise_model(
            args.encoder, labels, types, args.markers, args.pooling, args.task, args.max_length, type_pairs, args.seed,
            adapter=adapter_config(args),
            classify_output=args.classify_output, word_joining=args.word_joining, pairs=args.pairs,
        )
    config = TrainingConfig(
        epochs=args.epochs, learning_rate=args.lr, head_learning_rate=args.head_lr, batch_size=args.batch_size,
        patience=args.patience, seed=args.seed, neg_ratio=args.neg_ratio,
        freeze_embeddings=args.freeze_embeddings, share_encoder_passes=args.shared_passes,
        language_fraction=args.language_fraction, full_languages=tuple(args.full_languages), precision=args.precision,
        initialised_from=args.init, progress=not args.quiet,
    )
    task = RelationTask(model, tokenizer, train, dev, config)
    result = Trainer(model, tokenizer, config).fit(task, args.output, resume=args.resume, stop_after=args.stop_after)
    chosen = f"dev F1 {result.best_dev_f1:.4f}" if result.best_dev_f1 is not None else "no dev set: last epoch"
    resumed = f" (resumed after epoch {result.resumed_after_epoch})" if result.resumed_after_epoch else ""
    print(f"best epoch {result.best_epoch} ({chosen}) saved to {args.output} in {result.seconds:.0f}s{resumed};"
          f" skipped pairs: {sum(task.skipped.values())}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from polyrel.model.relation.predictor import RelationPredictor
    from polyrel.model.relation.training import build_instances, evaluate_instances
    from polyrel.model.training.data import read_corpus, sample
    from polyrel.model.training.metrics import write_report

    predictor = RelationPredictor.load(args.model, precision=args.precision)
    corpus = read_corpus(args.data, skip_invalid=args.skip_invalid)
    report_losses(corpus)
    sentences = sample(corpus.sentences, args.sample)
    report = evaluate_instances(predictor, build_instances(sentences, predictor.encoder, predictor.config.task, predictor.config.pairs), args.batch_size,
                                desc="evaluate")
    report.extra.update(
        sentences=len(sentences), sampled_from=len(corpus.sentences) if args.sample else None,
        skipped_records=len(corpus.skipped), dropped_self_relations=len(corpus.dropped), unseen_entity_types=dict(predictor.encoder.markers.unseen_types),
        model=str(args.model), data=list(args.data),
    )
    print(report.table())
    if args.report:
        write_report(report, args.report, args.confusion_png)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from itertools import islice

    from polyrel.model.relation.pairs import candidate_pairs, orient, sentence_candidates
    from polyrel.model.relation.predictor import PairQuery, RelationPredictor
    from polyrel.model.training.data import iter_records, sentence_record
    from polyrel.progress import track

    predictor = RelationPredictor.load(args.model, precision=args.precision)
    classify, scheme = predictor.config.task == "classify", predictor.config.pairs
    skipped: list = []
    records = track(iter_records(args.input, skip_invalid=args.skip_invalid, skipped=skipped), "predict", unit="sentence")
    with open(args.output, "w", encoding="utf-8") as out:
        while chunk := list(islice(records, 256)):  # pairs of many sentences share batches
            jobs = []
            for sentence in chunk:
                mentions = sentence.entities
                pairs = (list(dict.fromkeys(candidate_pairs(mentions, r.head, r.tail, scheme)[0] for r in sentence.relations))
                         if classify and sentence.relations else sentence_candidates(mentions, scheme))
                jobs.append((sentence, pairs))
            queries = [PairQuery(s.words, s.entities[h], s.entities[t]) for s, pairs in jobs for h, t in pairs]
            predictions = iter(predictor.predict(queries, args.batch_size, args.threshold))
            for sentence, pairs in jobs:
                record = sentence_record(sentence)
                scored = [(h, t, next(predictions)) for h, t in pairs]
                record["relations"] = [
                    {"head": t if backward else h, "tail": h if backward else t, "label": label, "score": round(score, 6)}
                    for h, t, p in scored for output, score in p.labels for label, backward in [orient(output)]
                ]
                record["skipped_pairs"] = [{"head": h, "tail": t, "reason": p.skipped} for h, t, p in scored if p.skipped]
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if skipped:
        print(f"skipped {len(skipped)} invalid records, first: {skipped[0]}", file=sys.stderr)
    return 0
