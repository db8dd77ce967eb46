"""The training-speed benchmark on real CrossRE sentences with a tiny encoder: the batches it
times are formed as each configuration forms them, a longer run extends a shorter one, and the
result file names every configuration with its command."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from polyrel.model.relation.training import RelationTask, collect_inventory, initialise_model
from polyrel.model.training.data import read_corpus
from polyrel.model.training.trainer import TrainingConfig
from tests.benchmarks.helpers import load_script
from tests.conftest import CROSSRE

NEWS = CROSSRE / "en" / "news-train.json.gz"
pytestmark = pytest.mark.skipif(not NEWS.is_file(), reason="CrossRE data not found")


@pytest.fixture(scope="module")
def task(tiny_xlmr_dir: Path) -> RelationTask:
    train = read_corpus([NEWS]).sentences[:20]
    labels, types, pairs = collect_inventory(train)
    model, tokenizer = initialise_model(str(tiny_xlmr_dir), labels, types, type_pairs=pairs)
    return RelationTask(model, tokenizer, train, None, TrainingConfig())


def padding(task: RelationTask, items: list, batch_size: int) -> int:
    lengths = [task.length(i) for i in items]
    return sum(batch_size * max(chunk) - sum(chunk) for chunk in (lengths[i: i + batch_size] for i in range(0, len(lengths), batch_size)))


def test_length_buckets_pad_less_than_random_batches_and_longer_runs_extend_shorter_ones(task: RelationTask) -> None:
    module = load_script("training_speed.py")
    bucketed = module.SampledBatches(task, 6, 6, 8, bucketed=True, seed=1)
    plain = module.SampledBatches(task, 6, 6, 8, bucketed=False, seed=1)
    assert len(bucketed.items) == len(plain.items) == 48
    assert padding(task, bucketed.items, 8) < padding(task, plain.items, 8)
    short = module.SampledBatches(task, 6, 3, 8, bucketed=False, seed=1)
    assert short.items == plain.items[:24]
    assert {short.length(i) for i in short.items} == {0}  # the trainer keeps random batches as drawn
    assert short.epoch_items(random.Random(0)) == short.items and short.evaluate(task.model, "cpu") == {}
    with pytest.raises(ValueError, match="full batches"):
        module.SampledBatches(task, 10_000, 1, 8, bucketed=True, seed=1)


def test_benchmark_writes_every_configuration(tiny_xlmr_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "data" / "en").mkdir(parents=True)
    (tmp_path / "data" / "en" / "news-train.json.gz").symlink_to(NEWS)
    results = tmp_path / "speed.json"
    module = load_script("training_speed.py")
    assert module.main(["--data", str(tmp_path / "data"), "--encoder", str(tiny_xlmr_dir), "--batches", "2",
                        "--batch-size", "4", "--results", str(results)]) == 0
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.training_speed --data")
    assert list(data["configs"]) == ["plain", "length buckets", "buckets + frozen embeddings", "buckets + shared passes",
                                     "buckets + frozen + shared"]
    rows = {name: c["encoder_rows_per_pair"] for name, c in data["configs"].items()}
    assert rows["plain"] == rows["length buckets"] == 1.0 and rows["buckets + shared passes"] < 1.0
    assert [(c["length_buckets"], c["frozen_embeddings"], c["shared_passes"]) for c in data["configs"].values()] == \
        [(False, False, False), (True, False, False), (True, True, False), (True, False, True), (True, True, True)]
    assert data["epoch_instances"]["all_pairs"] > data["epoch_instances"]["neg_ratio_2"] > 0
