"""The CJK word-joining benchmark: one small run on Multi-CrossRE with a tiny SentencePiece-style model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.helpers import load_script
from tests.conftest import CROSSRE, TINY_LABELS, TINY_TYPES


@pytest.mark.skipif(not (CROSSRE / "chinese").is_dir(), reason="Multi-CrossRE data not found")
def test_both_joinings_score_the_same_pairs_and_as_written_reads_fewer_subtokens(tiny_xlmr_dir: Path, tmp_path: Path) -> None:
    from polyrel.model.relation.training import initialise_model

    model, tokenizer = initialise_model(str(tiny_xlmr_dir), TINY_LABELS, TINY_TYPES, max_length=128, seed=0)
    model.save_pretrained(tmp_path / "model", tokenizer)
    results = tmp_path / "joining.json"
    assert load_script("cjk_joining.py").main(["--data", str(CROSSRE), "--languages", "chinese", "--sentences", "3",
                                               "--model", str(tmp_path / "model"), "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.cjk_joining --data")
    assert data["model_trained_with"] == "as_written"
    chinese = data["languages"]["chinese"]
    assert chinese["sentences"] == 3 and chinese["pairs"] > 0
    assert set(chinese["schemes"]) == {"dataset", "segmenter"}
    for scheme in chinese["schemes"].values():
        assert 0.0 <= scheme["spaced"]["micro_f1"] <= 1.0 and 0.0 <= scheme["as_written"]["micro_f1"] <= 1.0
        assert scheme["as_written"]["subtokens_per_pair"] < scheme["spaced"]["subtokens_per_pair"]
        assert set(scheme["as_written_over_spaced"]) == {"micro_f1", "seconds"}
