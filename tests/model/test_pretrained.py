"""The shipped default models stay within what the repository may carry."""

from pathlib import Path

import pytest

import polyrel.model

PRETRAINED = Path(polyrel.model.__file__).resolve().parent / "pretrained"
LIMIT_BYTES = 30_000_000  # issue 27: the shipped models, all together


def test_the_shipped_model_directories_weigh_under_thirty_megabytes_together() -> None:
    directories = [d for d in PRETRAINED.iterdir() if d.is_dir()]
    assert {d.name for d in directories} >= {"relation-e5-small", "ner-e5-small"}
    assert sum(p.stat().st_size for d in directories for p in d.rglob("*") if p.is_file()) < LIMIT_BYTES


@pytest.mark.slow
def test_the_shipped_defaults_extract_typed_triples_from_the_sample_corpus(tmp_path: Path) -> None:
    """`polyrel run` with nothing but the defaults: entities of CrossRE types in every sample language, triples in several."""
    import contextlib
    import io

    from polyrel.cli import main
    from polyrel.model.relation.modeling import RelationModelConfig
    from polyrel.pipeline.summary import read_table
    from polyrel.transforms.relations import load_config

    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", "--out", str(tmp_path)]) == 0
    config: RelationModelConfig = load_config(str(PRETRAINED / "relation-e5-small"))
    entities, triples = read_table(str(tmp_path), "entities").to_pylist(), read_table(str(tmp_path), "triples").to_pylist()
    assert {e["lang"] for e in entities} >= {"en", "de", "es", "zh", "ja"}
    assert {e["entity_type"] for e in entities} <= set(config.entity_types)
    assert len({t["lang"] for t in triples}) >= 3 and {t["relation"] for t in triples} <= set(config.labels)
    assert all(t["score"] >= config.threshold for t in triples)
