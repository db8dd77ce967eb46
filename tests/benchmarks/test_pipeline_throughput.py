import json

from tests.benchmarks.helpers import load_script


def test_benchmark_compares_the_run_with_the_model_alone(tiny_relation_model_dir, tmp_path):
    module = load_script("pipeline_throughput.py")
    results = tmp_path / "out.json"
    module.main(["--model", str(tiny_relation_model_dir), "--documents", "48", "--files", "2", "--no-dask",
                 "--results", str(results)])
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.pipeline_throughput --model")
    assert data["documents"] == 48 and data["pairs"] == data["model_alone"]["pairs"] == 4 * 54  # 4 copies of 12 documents
    assert data["model_alone"]["pairs_per_s"] > 0 and data["direct"]["seconds"] > data["direct"]["fixed_seconds"] > 0
    assert data["direct_over_model"] == round(data["direct"]["steady_pairs_per_s"] / data["model_alone"]["pairs_per_s"], 3)
