"""Fill the accuracy grid: train and score every missing cell, resumably, in parallel workers.

    python -m benchmarks.accuracy.run --data ../shared/data/crossre --experiments variants domains \
        --seeds 1 2 3 --profile reduced --workers 4 --deadline-min 60

Each finished cell is one JSON file in `--out/cells/` (written atomically), holding the cell,
the profile's hyper-parameters, the machine, the encoder, training time and history, and the
test reports per language. Cells that exist are skipped; a cell whose model directory was kept
(`--models`) but lacks a test language that is now available is scored without retraining, and
with `--retrain-partial` one whose model is gone is trained again.
`--domains` and `--variants` narrow the grid (a CPU session picks the one cell it can finish).
Several workers share one GPU well: an e5-small step leaves most of an H100 idle.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import platform
import shlex
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from benchmarks.accuracy.grid import (
    DOMAINS,
    EXPERIMENTS,
    GRID,
    PROFILES,
    TRAIN_ONLY_LANGUAGES,
    VARIANTS,
    Cell,
    Profile,
    cells,
    variant_name,
)

SPLIT_FILE = "{domain}-{split}.json.gz"


def split_files(data: Path, languages: tuple[str, ...], domain: str | None, split: str) -> list[str]:
    domains = (domain,) if domain else DOMAINS
    paths = [data / lang / SPLIT_FILE.format(domain=d, split=split) for lang in languages for d in domains]
    return [str(p) for p in paths if p.is_file()]


def machine() -> dict[str, object]:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"host": platform.node(), "gpu": gpu, "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "python": platform.python_version()}


def report_summary(report) -> dict[str, object]:
    return {
        "micro_precision": report.micro_precision, "micro_recall": report.micro_recall, "micro_f1": report.micro_f1,
        "macro_f1": report.macro_f1, "n_pairs": report.n_pairs,
        "per_label": {s.label: {"f1": s.f1, "support": s.support} for s in report.per_label},
        **{k: v for k, v in report.extra.items() if k.startswith("unfit")},
    }


def evaluation_sentences(data: Path, language: str, domain: str | None, profile: Profile) -> tuple[list, str]:
    """(sentences, split) a cell is scored on in `language`: its test set, or for a language without
    one (`evaluation_split`), its dev sentences outside the early-stopping sample a cell trained on it would draw (the
    same sentences for every cell, so zero-shot and supervised scores compare)."""
    from polyrel.model.training.data import read_corpus, sample

    if evaluation_split(language) == "test":
        return read_corpus(split_files(data, (language,), domain, "test")).sentences[: profile.sentence_limit], "test"
    dev = read_corpus(split_files(data, (language,), domain, "dev")).sentences[: profile.sentence_limit]
    stopping = {id(s) for s in sample(dev, profile.dev_sentences)}
    return [s for s in dev if id(s) not in stopping], "dev"


def evaluation_split(language: str) -> str:
    """Where a language is scored: its test set, or dev for a language Multi-CrossRE gives none."""
    return "dev" if language in TRAIN_ONLY_LANGUAGES else "test"


def unscored(cell: Cell, record: dict, data: Path) -> list[str]:
    """Languages the cell is scored on whose split is at hand but not in its record."""
    return [lang for lang in cell.evaluate_on
            if lang not in record["evaluations"] and split_files(data, (lang,), cell.domain, evaluation_split(lang))]


def pending(cell: Cell, out: Path, models: Path, data: Path, retrain_partial: bool = False) -> str | None:
    """What a cell needs: "train", "score" (its kept model lacks a test language) or None.

    A recorded cell is only revisited to score its kept model on a new test language, or, with
    `retrain_partial`, trained again when it lacks a test language and its model is gone (kept
    models live on one machine; a GPU retrains a cell in minutes, a CPU scores it in hours).
    """
    path = out / "cells" / f"{cell.id}.json"
    if not path.is_file():
        return "train"
    missing = unscored(cell, json.loads(path.read_text()), data)
    if missing and (models / cell.id / "config.json").is_file():
        return "score"
    return "train" if missing and retrain_partial else None


def evaluate_missing(cell: Cell, record: dict, model_dir: Path, data: Path, profile: Profile, path: Path) -> list[str]:
    """Score the kept model on languages not yet in the record, saving the record after each (on
    a CPU one language is half an hour); the languages added."""
    from polyrel.model.relation.predictor import RelationPredictor
    from polyrel.model.relation.training import build_instances, evaluate_instances

    todo = unscored(cell, record, data)
    if not todo:
        return todo
    predictor = RelationPredictor.load(model_dir)
    for lang in todo:
        started = time.perf_counter()
        sentences, split = evaluation_sentences(data, lang, cell.domain, profile)
        report = evaluate_instances(predictor, build_instances(sentences, predictor.encoder, cell.task, predictor.config.pairs), 256)
        record["evaluations"][lang] = {**report_summary(report), "split": split, "seconds": time.perf_counter() - started}
        _write(path, record)
    return todo


def run_cell(
    cell: Cell, data: Path, out: Path, models: Path, encoder: str, threads: int = 1, command: str = "",
    retrain_partial: bool = False,
) -> str:
    """Train (resuming from the model directory's checkpoint if a run was cut off) and score
    a cell, or only score it on the test languages it lacks (see `pending`)."""
    import torch

    from polyrel.model.relation.training import RelationTask, collect_inventory, initialise_model
    from polyrel.model.training.data import read_corpus, sample
    from polyrel.model.training.trainer import Trainer, TrainingConfig

    torch.set_num_threads(threads)
    path = out / "cells" / f"{cell.id}.json"
    model_dir = models / cell.id
    profile = PROFILES[cell.profile]
    need = pending(cell, out, models, data, retrain_partial)
    if need is None:
        return f"skip {cell.id}"
    if need == "score":
        added = evaluate_missing(cell, json.loads(path.read_text()), model_dir, data, profile, path)
        return f"scored {cell.id} on {added}"
    started = time.perf_counter()
    train = read_corpus(split_files(data, cell.train, cell.domain, "train")).sentences[: profile.sentence_limit]
    dev = sample(read_corpus(split_files(data, cell.train, cell.domain, "dev")).sentences[: profile.sentence_limit],
                 profile.dev_sentences)
    if not train:
        return f"no training data for {cell.id}"
    labels, types, pairs = collect_inventory(train)
    model, tokenizer = initialise_model(encoder, labels, types, cell.markers, cell.pooling, cell.task,
                                        profile.max_length, pairs, cell.seed, model_id=cell.id,
                                        classify_output=profile.classify_output, word_joining=profile.word_joining,
                                        pairs=cell.pairs)  # type: ignore[arg-type]
    config = TrainingConfig(
        epochs=profile.epochs_for(cell.experiment), learning_rate=profile.learning_rate, head_learning_rate=profile.head_learning_rate,
        batch_size=profile.batch_size, patience=profile.patience, min_epochs=profile.min_epochs, seed=cell.seed, neg_ratio=profile.neg_ratio,
        freeze_embeddings=profile.freeze_embeddings, share_encoder_passes=profile.share_encoder_passes,
        eval_batch_size=256, progress=False,
    )
    task = RelationTask(model, tokenizer, train, dev, config)
    result = Trainer(model, tokenizer, config).fit(task, model_dir, resume=True)
    record = {
        "cell": cell.to_json(), "command": command, "profile": asdict(profile), "encoder": encoder, "machine": machine(),
        "epochs": config.epochs, "train_sentences": len(train), "train_pairs": len(task.instances), "skipped_train_pairs": dict(task.skipped),
        "best_epoch": result.best_epoch, "best_dev_f1": result.best_dev_f1, "history": result.history,
        "dev_floor": task.selection_floor,  # patience waits for dev above it (cells without it trained before that rule)
        "train_seconds": result.seconds, "resumed_after_epoch": result.resumed_after_epoch, "evaluations": {},
    }
    _write(path, record)  # trained: from here on an interruption costs at most one test language
    evaluate_missing(cell, record, model_dir, data, profile, path)
    return f"done {cell.id} in {time.perf_counter() - started:.0f}s"


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _worker(job: tuple[Cell, Path, Path, Path, str, float, int, str, bool]) -> str:
    cell, data, out, models, encoder, deadline, threads, command, retrain_partial = job
    # per-epoch lines in the grid log: a cell cut off by the deadline still shows how far it got
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("polyrel.model.training.trainer").setLevel(logging.INFO)
    if time.time() > deadline:
        return f"deadline: not started {cell.id}"
    try:
        return run_cell(cell, data, out, models, encoder, threads, command, retrain_partial)
    except Exception as exc:  # noqa: BLE001 - one failing cell must not stop the grid; the message says which
        return f"FAILED {cell.id}: {type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="Multi-CrossRE folder (one sub-folder per language)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/accuracy"))
    parser.add_argument("--models", type=Path, default=Path("runs/accuracy-models"), help="where cell models are kept")
    parser.add_argument("--encoder", default="multilingual-e5-small")
    parser.add_argument("--experiments", nargs="+", choices=EXPERIMENTS, default=list(GRID))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="reduced")
    parser.add_argument("--domains", nargs="+", choices=DOMAINS, help="only these domains' cells of `domains`")
    parser.add_argument("--variants", nargs="+", choices=[variant_name(m, p) for m, p in VARIANTS],
                        help="only cells of these variants (marker scheme-pooling), e.g. to pick which seed-3 cell a CPU session trains")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--deadline-min", type=float, default=None, help="start no cell after this many minutes")
    parser.add_argument("--retrain-partial", action="store_true",
                        help="train again a recorded cell that lacks a test language and whose model is gone")
    args = parser.parse_args(argv)
    deadline = time.time() + 60 * args.deadline_min if args.deadline_min else float("inf")
    grid = [c for c in cells(args.experiments, args.seeds, args.profile)
            if (c.domain is None or args.domains is None or c.domain in args.domains)
            and (args.variants is None or c.variant in args.variants)]
    todo = [c for c in grid if pending(c, args.out, args.models, args.data, args.retrain_partial)]
    threads = max(1, (os.cpu_count() or 2) // args.workers)
    command = "python -m benchmarks.accuracy.run " + shlex.join(sys.argv[1:] if argv is None else argv)
    jobs = [(c, args.data, args.out, args.models, args.encoder, deadline, threads, command, args.retrain_partial)
            for c in todo]
    print(f"{len(grid)} cells, {len(grid) - len(todo)} done; {args.workers} workers x {threads} threads; profile {args.profile};"
          f" {command}", flush=True)  # a kept log names what made it
    if args.workers == 1:
        return _print(map(_worker, jobs))
    # Killed (SIGTERM), the runner leaves through `with`, whose exit terminates the workers: they
    # would otherwise go on training, orphaned, into the model directories a restarted run uses.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with mp.get_context("spawn").Pool(args.workers, maxtasksperchild=1) as pool:
        return _print(pool.imap_unordered(_worker, jobs))


def _print(outcomes: Iterable[str]) -> int:
    failed = 0
    for outcome in outcomes:
        failed += outcome.startswith("FAILED")
        print(outcome, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
