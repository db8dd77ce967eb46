"""The CJK word benchmark: how runs are cut, and one small end-to-end run on Multi-CrossRE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyrel.transforms.segment import tokenize
from tests.benchmarks.helpers import load_script
from tests.conftest import CROSSRE


@pytest.fixture(scope="module")
def cjk():
    return load_script("cjk_words.py")


def test_runs_join_characters_and_cut_at_entity_boundaries(cjk) -> None:
    tokens = tokenize("日本队战胜了叙利亚队, Paris 2024 東京タワーへ")
    assert cjk.model_words(tokens, []) == (("日本队战胜了叙利亚队", ",", "Paris", "2024", "東京タワーへ"), [])
    tokyo = (len(tokens) - 6, len(tokens) - 1)
    words, spans = cjk.model_words(tokens, [(6, 9), tokyo])
    assert words == ("日本队战胜了", "叙利亚", "队", ",", "Paris", "2024", "東京タワー", "へ")
    assert [words[s:e] for s, e in spans] == [("叙利亚",), ("東京タワー",)]
    assert cjk.model_words(tokenize("日 本"), [])[0] == ("日", "本")  # a space keeps characters apart


@pytest.mark.skipif(not (CROSSRE / "chinese").is_dir(), reason="Multi-CrossRE data not found")
def test_benchmark_scores_every_scheme_on_the_same_pairs(cjk, tiny_relation_model_dir: Path, tmp_path: Path) -> None:
    results = tmp_path / "cjk.json"
    assert cjk.main(["--data", str(CROSSRE), "--languages", "chinese", "--sentences", "3",
                     "--model", str(tiny_relation_model_dir), "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["command"].startswith("python benchmarks/cjk_words.py --data")
    chinese = data["languages"]["chinese"]
    assert chinese["sentences"] == 3 and chinese["pairs"] > 0
    assert set(chinese["schemes"]) == {"dataset", "characters", "runs"}
    for scheme in chinese["schemes"].values():
        assert 0.0 <= scheme["micro_f1"] <= 1.0
