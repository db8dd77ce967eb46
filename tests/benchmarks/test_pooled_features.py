"""The pooled-features benchmark: its measures on known vectors, and one small run on CrossRE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks import pooled_features
from tests.conftest import CROSSRE


def test_the_shared_mean_share_is_one_for_identical_vectors_and_zero_for_centred_ones() -> None:
    same = torch.tensor([[3.0, 4.0]] * 5)
    assert pooled_features.geometry(same)["shared_mean_share"] == 1.0 and pooled_features.geometry(same)["mean_norm"] == 5.0
    centred = torch.tensor([[1.0, -2.0], [-1.0, 2.0]])
    assert pooled_features.geometry(centred)["shared_mean_share"] == 0.0


def test_the_probe_learns_a_separable_task_and_not_a_shuffled_one() -> None:
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (300,), generator=generator)
    features = torch.nn.functional.one_hot(labels, 3).float() * 4 + torch.randn(300, 3, generator=generator) * 0.1
    targets = torch.nn.functional.one_hot(labels, 3).float()
    probs = pooled_features.probe(features[:200], targets[:200], features[200:], epochs=20, lr=1e-2, seed=1)
    assert (probs.argmax(-1) == labels[200:]).float().mean() == 1.0
    shuffled = targets[:200][torch.randperm(200, generator=generator)]
    probs = pooled_features.probe(features[:200], shuffled, features[200:], epochs=20, lr=1e-2, seed=1)
    assert (probs.argmax(-1) == labels[200:]).float().mean() < 0.6


@pytest.mark.skipif(not (CROSSRE / "en" / "news-train.json.gz").is_file(), reason="CrossRE data not found")
def test_es_and_emp_are_measured_on_one_encoder_pass(tiny_xlmr_dir: Path, tmp_path: Path) -> None:
    results = tmp_path / "pooled.json"
    assert pooled_features.main(["--data", str(CROSSRE), "--domain", "news", "--encoder", str(tiny_xlmr_dir),
                                 "--epochs", "2", "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.pooled_features --data")
    assert data["pairs"]["train"] > 0 and data["pairs"]["dev"] > 0
    es, emp = data["poolings"]["es"], data["poolings"]["emp"]
    for figures in (es, emp):
        assert 0.0 <= figures["shared_mean_share"] <= 1.0 and 0.0 < figures["top8_dimensions_share"] <= 1.0
        assert 0.0 <= figures["probe_dev_macro_f1"] <= 1.0 and 0.0 <= figures["probe_dev_micro_f1"] <= 1.0
    assert data["emp_over_es"]["mean_norm"] == round(emp["mean_norm"] / es["mean_norm"], 3)
