"""How much does sharing one encoder pass between a pair and its mirror save when scoring?

With entity type markers an entity wears the same marker as head and as tail, so the inputs of
(a, b) and (b, a) are one sequence; only the order of the pooled vectors differs.
`RelationModel.summaries` runs the encoder once per distinct sequence. This benchmark scores
every ordered pair of sampled Multi-CrossRE test sentences (gold entities, extract mode) with one
relation model both ways in the same run — the baseline runs the encoder once per pair, as the
predictor did before — alternating the two arms `--repeats` times, and checks that the outputs
agree.

    python -m benchmarks.shared_encoding --data ../shared/data/crossre --languages en german chinese --sentences 60

Writes pairs/s of each arm (best of the repeats), the shared ÷ per-pair speed ratio, the encoder
rows each arm ran, the largest probability difference, label agreement and the command to
`benchmarks/results/shared_encoding.json`.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks import results_file
from benchmarks.cjk_words import dataset_words, pairs, sample_arguments
from polyrel.model.batching import length_batches
from polyrel.model.relation.encoding import EncodedPair, collate
from polyrel.model.relation.predictor import RelationPredictor, decide
from polyrel.model.training.data import read_corpus, sample
from polyrel.model.training.metrics import score

RESULTS = Path(__file__).resolve().parent / "results" / "shared_encoding.json"
BATCH = 64


def per_pair(predictor: RelationPredictor, encoded: list[EncodedPair]) -> np.ndarray:
    """The baseline: one encoder row per pair, length-batched as the predictor does."""
    out = np.zeros((len(encoded), len(predictor.config.output_labels)), dtype=np.float32)
    pad_id = predictor.encoder.tokenizer.pad_token_id or 0
    with torch.inference_mode():
        for batch in length_batches([len(p.input_ids) for p in encoded], BATCH):
            logits = predictor.model(**collate([encoded[i] for i in batch], pad_id)).float()
            out[batch] = predictor.config.probabilities(logits).numpy()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = sample_arguments(__doc__, RESULTS)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each arm, alternating; the best is kept")
    args = parser.parse_args(argv)
    predictor = RelationPredictor.load(args.model, device="cpu")
    config = predictor.config
    out: dict[str, Any] = {
        "command": results_file.command("benchmarks.shared_encoding", argv),
        "model": results_file.model_label(args.model), "markers": config.markers, "pooling": config.pooling,
        "machine": platform.node(), "device": predictor.device, "torch_threads": torch.get_num_threads(),
        "batch_size": BATCH, "sentences_per_language": args.sentences, "languages": {},
    }
    arms = {"per_pair": lambda e: per_pair(predictor, e), "shared": lambda e: predictor.probabilities(e, BATCH)}
    for language in args.languages:
        files = sorted(str(p) for p in (args.data / language).glob("*-test.json.gz"))
        sentences = sample(read_corpus(files).sentences, args.sentences)
        candidates = [(predictor.encode(dataset_words(s, h, t)), gold) for s, h, t, gold in pairs(sentences)]
        encoded = [e for e, _ in candidates if isinstance(e, EncodedPair)]
        gold = [g for e, g in candidates if isinstance(e, EncodedPair)]
        seconds: dict[str, list[float]] = {arm: [] for arm in arms}
        probs: dict[str, np.ndarray] = {}
        for _ in range(args.repeats):
            for arm, run in arms.items():
                started = time.perf_counter()
                probs[arm] = run(encoded)
                seconds[arm].append(time.perf_counter() - started)
        labels = {arm: [frozenset(label for label, _ in decide(p, config)) for p in probs[arm]] for arm in arms}
        result: dict[str, Any] = {
            "sentences": len(sentences), "pairs": len(encoded), "skipped": len(candidates) - len(encoded),
            "encoder_rows": {"per_pair": len(encoded), "shared": len({e.input_ids for e in encoded})},
            "seconds": {arm: [round(s, 2) for s in runs] for arm, runs in seconds.items()},
            "pairs_per_second": {arm: round(len(encoded) / min(runs), 1) for arm, runs in seconds.items()},
            "max_abs_probability_difference": float(np.abs(probs["shared"] - probs["per_pair"]).max()),
            "label_agreement": sum(a == b for a, b in zip(labels["shared"], labels["per_pair"])) / len(encoded),
            "micro_f1": {arm: score(gold, labels[arm], config.labels).micro_f1 for arm in arms},
        }
        result["shared_over_per_pair"] = round(result["pairs_per_second"]["shared"] / result["pairs_per_second"]["per_pair"], 2)
        out["languages"][language] = result
        print(f"{language}: {len(encoded)} pairs, encoder rows {result['encoder_rows']['per_pair']} -> "
              f"{result['encoder_rows']['shared']}; pairs/s per-pair {result['pairs_per_second']['per_pair']}, shared "
              f"{result['pairs_per_second']['shared']} ({result['shared_over_per_pair']}x); max |dp| "
              f"{result['max_abs_probability_difference']:.2e}, label agreement {result['label_agreement']:.4f}", flush=True)
    results_file.write(args.results, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
