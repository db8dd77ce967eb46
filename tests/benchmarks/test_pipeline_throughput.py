import json

import pytest

from tests.benchmarks.helpers import load_script
from tests.conftest import CROSSRE

pytestmark = [pytest.mark.crossre, pytest.mark.skipif(not (CROSSRE / "en").is_dir(), reason="CrossRE data not found")]


def test_benchmark_compares_the_run_with_the_model_alone(tiny_relation_model_dir, tmp_path):
    module = load_script("pipeline_throughput.py")
    results = tmp_path / "out.json"
    module.main(["--data", str(CROSSRE), "--model", str(tiny_relation_model_dir), "--documents", "24", "--files", "2",
                 "--no-dask", "--results", str(results)])
    data = json.loads(results.read_text())
    assert data["command"].startswith("python -m benchmarks.pipeline_throughput --data")
    # every ordered pair of gold entities of 24 distinct sentences, scored once by the model and once by the run
    assert data["documents"] == 24 and data["model_alone"]["pairs"] > 24
    assert data["model_alone"]["pairs_per_s"] > 0 and data["direct"]["seconds"] > data["direct"]["fixed_seconds"] > 0
    assert data["direct_over_model"] == round(data["direct"]["steady_pairs_per_s"] / data["model_alone"]["pairs_per_s"], 3)
