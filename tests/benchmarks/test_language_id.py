"""The language-identification benchmark on a few Multi-CrossRE sentences (identify itself is tested in tests/transforms/test_language.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.helpers import load_script
from tests.conftest import CROSSRE


@pytest.mark.skipif(not (CROSSRE / "german").is_dir(), reason="Multi-CrossRE data not found")
def test_benchmark_scores_both_methods_per_language_and_overall(tmp_path: Path) -> None:
    results = tmp_path / "lid.json"
    assert load_script("language_id.py").main(["--data", str(CROSSRE), "--languages", "german", "chinese",
                                               "--limit", "20", "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.language_id --data")
    german, chinese = data["languages"]["german"], data["languages"]["chinese"]
    assert (german["sentences"], german["documents"]) == (20, 4)
    assert german["sentence/script_only"]["correct"] == 0.0  # Latin script alone decides nothing
    assert german["sentence/identify"]["correct"] > 0.5
    assert chinese["sentence/script_only"]["correct"] > 0.5
    for entry in (german, chinese):
        shares = entry["document/identify"]
        assert abs(shares["correct"] + shares["und"] + shares["wrong"] - 1.0) < 1e-9
    assert data["overall"]["sentence"]["correct"] >= data["overall"]["sentence"]["script_only_correct"]
