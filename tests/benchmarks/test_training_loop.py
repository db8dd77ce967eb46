"""The training-loop benchmark on a tiny encoder over a few CrossRE sentences: both loops train
from the same start, the record names its command, and each run's F1 history is its own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.benchmarks.helpers import load_script
from tests.conftest import CROSSRE

pytestmark = [pytest.mark.crossre, pytest.mark.skipif(not (CROSSRE / "en").is_dir(), reason="CrossRE data not found")]


def test_both_loops_train_and_the_record_compares_them(tiny_xlmr_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "crossre" / "en"
    data.mkdir(parents=True)
    for name in ("news-train.json.gz", "news-dev.json.gz"):
        shutil.copy(CROSSRE / "en" / name, data / name)
    results = tmp_path / "loop.json"
    module = load_script("training_loop.py")
    assert module.main(["--data", str(tmp_path / "crossre"), "--encoder", str(tiny_xlmr_dir), "--epochs", "2",
                        "--top-layers", "1", "--dev-sample", "20", "--results", str(results)]) == 0
    record = json.loads(results.read_text())
    assert record["command"].startswith("python -m benchmarks.training_loop --data")
    before, now = record["runs"].values()
    assert (before["precision"], before["cache_lower_layers"], now["cache_lower_layers"]) == ("fp32", False, True)
    assert len(before["epoch_seconds"]) == len(now["dev_micro_f1"]) == 2
    assert record["speedup_total"] == pytest.approx(sum(before["epoch_seconds"]) / sum(now["epoch_seconds"]), abs=0.01)
