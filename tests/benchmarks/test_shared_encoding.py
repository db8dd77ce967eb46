"""The shared-encoding benchmark: one small run on CrossRE with a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.helpers import load_script
from tests.conftest import CROSSRE, TINY_LABELS, TINY_TYPES


@pytest.mark.skipif(not (CROSSRE / "en").is_dir(), reason="CrossRE data not found")
@pytest.mark.parametrize("markers,rows_shared", [("etm", 0.5), ("um", 1.0)])
def test_type_markers_halve_the_encoder_rows_and_both_arms_agree(tiny_bert_dir: Path, tmp_path: Path, markers: str, rows_shared: float) -> None:
    from polyrel.model.relation.training import initialise_model

    model, tokenizer = initialise_model(str(tiny_bert_dir), TINY_LABELS, TINY_TYPES, markers, max_length=128, seed=0)
    model.save_pretrained(tmp_path / "model", tokenizer)
    results = tmp_path / "shared.json"
    assert load_script("shared_encoding.py").main(["--data", str(CROSSRE), "--languages", "en", "--sentences", "3", "--repeats", "1",
                                                   "--model", str(tmp_path / "model"), "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.shared_encoding --data")
    en = data["languages"]["en"]
    assert en["pairs"] > 0 and en["encoder_rows"]["per_pair"] == en["pairs"]
    assert en["encoder_rows"]["shared"] == rows_shared * en["pairs"]
    assert en["label_agreement"] == 1.0 and en["max_abs_probability_difference"] < 1e-5
    assert en["shared_over_per_pair"] > 0
