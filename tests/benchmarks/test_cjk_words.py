"""The CJK word benchmark: one small end-to-end run on Multi-CrossRE (the word schemes are tested in tests/transforms/test_words.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.helpers import load_script
from tests.conftest import CROSSRE


@pytest.fixture(scope="module")
def cjk():
    return load_script("cjk_words.py")


@pytest.mark.skipif(not (CROSSRE / "chinese").is_dir(), reason="Multi-CrossRE data not found")
def test_benchmark_scores_every_scheme_on_the_same_pairs(cjk, tiny_relation_model_dir: Path, tmp_path: Path) -> None:
    results = tmp_path / "cjk.json"
    assert cjk.main(["--data", str(CROSSRE), "--languages", "chinese", "--sentences", "3",
                     "--model", str(tiny_relation_model_dir), "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.cjk_words --data")
    chinese = data["languages"]["chinese"]
    assert chinese["sentences"] == 3 and chinese["pairs"] > 0
    assert set(chinese["schemes"]) == {"dataset", "characters", "runs", "segmenter"}
    for scheme in chinese["schemes"].values():
        assert 0.0 <= scheme["micro_f1"] <= 1.0
