"""How well are untagged documents given their language? Multi-CrossRE as a labelled set.

    python -m benchmarks.language_id --data ../shared/data/crossre

Every dev sentence of each language folder (English and its ten translations) is identified on
its own and in chunks of `--chunk` consecutive sentences (a short document), by
`transforms.language.identify` and, as the baseline measured in the same run, by the script rule
alone (`segment.guess_language`, what polyrel did before). Per language and overall: the share
tagged correctly, left `und`, and tagged wrongly, with the ratio of correct shares and the time
per text. Writes `benchmarks/results/language_id.json` with the command.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import results_file
from polyrel.transforms import language, segment

RESULTS = Path(__file__).resolve().parent / "results" / "language_id.json"
# Multi-CrossRE folder → the ISO 639-1 tag a correct answer gives.
FOLDERS = {"en": "en", "german": "de", "spanish": "es", "french": "fr", "finnish": "fi", "turkish": "tr",
           "greek": "el", "ukrainian": "uk", "indonesian": "id", "chinese": "zh", "japanese": "ja"}


def dev_texts(folder: Path) -> list[str]:
    """Dev sentences as written (the translations' detokenized text; English tokens joined by spaces)."""
    texts = []
    for path in sorted(folder.glob("*-dev.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                texts.append(record.get("sentence-detokenized") or " ".join(record["sentence"]))
    return texts


def score(identify: Callable[[str], str], texts: list[str], expected: str) -> dict[str, float]:
    started = time.perf_counter()
    answers = [identify(t) for t in texts]
    seconds = time.perf_counter() - started
    n = len(answers)
    return {"correct": sum(a == expected for a in answers) / n, "und": sum(a == "und" for a in answers) / n,
            "wrong": sum(a not in (expected, "und") for a in answers) / n, "microseconds_per_text": 1e6 * seconds / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="Multi-CrossRE folder (one sub-folder per language)")
    parser.add_argument("--languages", nargs="+", default=list(FOLDERS), choices=list(FOLDERS))
    parser.add_argument("--chunk", type=int, default=5, help="sentences per short document")
    parser.add_argument("--limit", type=int, default=None, help="sentences per language (default: all)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    methods = {"identify": language.identify, "script_only": segment.guess_language}
    per_language: dict[str, dict[str, Any]] = {}
    out: dict[str, object] = {
        "command": results_file.command("benchmarks.language_id", argv),
        "min_probability": language.MIN_PROBABILITY, "chunk": args.chunk, "languages": per_language,
    }
    totals = {(unit, m): {"correct": 0.0, "wrong": 0.0, "n": 0} for unit in ("sentence", "document") for m in methods}
    for folder in args.languages:
        sentences = dev_texts(args.data / folder)[: args.limit]
        documents = [" ".join(sentences[i:i + args.chunk]) for i in range(0, len(sentences), args.chunk)]
        entry: dict[str, Any] = {"sentences": len(sentences), "documents": len(documents)}
        for unit, texts in (("sentence", sentences), ("document", documents)):
            for name, method in methods.items():
                result = score(method, texts, FOLDERS[folder])
                entry[f"{unit}/{name}"] = result
                for key in ("correct", "wrong"):
                    totals[unit, name][key] += result[key] * len(texts)
                totals[unit, name]["n"] += len(texts)
        per_language[folder] = entry
        print(f"{folder:>10}: sentences {entry['sentence/identify']['correct']:.3f} correct"
              f" (script only {entry['sentence/script_only']['correct']:.3f}),"
              f" {args.chunk}-sentence documents {entry['document/identify']['correct']:.3f}", flush=True)
    overall: dict[str, dict[str, float | None]] = {}
    for unit in ("sentence", "document"):
        share = {(name, key): totals[unit, name][key] / max(1, totals[unit, name]["n"])
                 for name in methods for key in ("correct", "wrong")}
        correct, baseline = share["identify", "correct"], share["script_only", "correct"]
        overall[unit] = {"correct": correct, "wrong": share["identify", "wrong"], "script_only_correct": baseline,
                         "ratio": correct / baseline if baseline else None}
    out["overall"] = overall
    print(f"overall correct: sentences {overall['sentence']['correct']:.3f} vs script only"
          f" {overall['sentence']['script_only_correct']:.3f}; documents {overall['document']['correct']:.3f} vs"
          f" {overall['document']['script_only_correct']:.3f}")
    results_file.write(args.results, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
