"""The inference benchmark: the plain loop, both precisions and int8 score the same pairs and the record compares them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.benchmarks.helpers import load_script
from tests.conftest import CROSSRE

pytestmark = [pytest.mark.crossre, pytest.mark.skipif(not (CROSSRE / "en").is_dir(), reason="CrossRE data not found")]


def test_fp32_and_bf16_score_the_same_pairs(tiny_relation_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    shutil.copy(CROSSRE / "en" / "news-test.json.gz", tmp_path / "en")
    results = tmp_path / "precision.json"
    assert load_script("inference_precision.py").main(
        ["--data", str(tmp_path), "--model", str(tiny_relation_model_dir), "--sample", "20", "--results", str(results)]) == 0
    record = json.loads(results.read_text())
    plain, fp32, bf16 = record["runs"]["plain_fp32"], record["runs"]["fp32"], record["runs"]["bf16"]
    assert plain["pairs"] == fp32["pairs"] == bf16["pairs"] > 0
    assert plain["micro_f1"] == pytest.approx(fp32["micro_f1"], abs=1e-6)  # the baseline loop decides as the predictor does
    assert 0.5 < record["decision_agreement"] <= 1.0 and record["max_probability_difference"] < 0.1
    assert record["command"].startswith("python -m benchmarks.inference_precision")
    assert record["runs"]["int8"]["pairs"] == fp32["pairs"] and 0.5 < record["int8"]["decision_agreement"] <= 1.0
