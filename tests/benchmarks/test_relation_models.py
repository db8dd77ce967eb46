"""The two-model comparison: one fixed test sample per language, both models scored alike."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from benchmarks import relation_models
from tests.conftest import CROSSRE


@pytest.mark.skipif(not (CROSSRE / "german" / "news-test.json.gz").is_file(), reason="CrossRE data not found")
def test_a_model_against_itself_scores_the_same_sample_identically(tiny_relation_model_dir: Path, tmp_path: Path) -> None:
    results = tmp_path / "models.json"
    assert relation_models.main(["--data", str(CROSSRE), "--baseline", str(tiny_relation_model_dir),
                                 "--candidate", str(tiny_relation_model_dir), "--languages", "en", "german",
                                 "--sample", "4", "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.relation_models --data")
    baseline, candidate = data["models"]["baseline"], data["models"]["candidate"]
    weights = (tiny_relation_model_dir / "model.safetensors").read_bytes()
    assert baseline["weights_bytes"] == len(weights)
    assert baseline["model"] == f"{tiny_relation_model_dir.name}@{hashlib.sha256(weights).hexdigest()[:12]}"
    for language in ("en", "german"):
        assert baseline["test"][language]["n_pairs"] > 0 and baseline["test"][language]["sentences"] == 4
        for metric in ("micro_f1", "macro_f1", "n_pairs"):
            assert candidate["test"][language][metric] == baseline["test"][language][metric]
        for metric in ("micro_f1", "macro_f1"):
            assert data["candidate_over_baseline"][language][metric] in (1.0, None)
