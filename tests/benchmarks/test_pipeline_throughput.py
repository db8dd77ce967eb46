import json

from tests.benchmarks.helpers import load_script


def test_benchmark_reports_both_runs(tiny_relation_model_dir, tmp_path):
    module = load_script("pipeline_throughput.py")
    results = tmp_path / "out.json"
    module.main(["--model", str(tiny_relation_model_dir), "--repeat", "2", "--batch-size", "16", "--results", str(results)])
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.pipeline_throughput --model")
    assert data["baseline"]["batch_size"] == 1 and data["batched"]["batch_size"] == 16
    for run in ("baseline", "batched"):
        assert data[run]["documents"] == 24 and data[run]["pairs"] == 108 and data[run]["pairs_per_s"] > 0
    assert data["pairs_per_s_ratio"] > 0
