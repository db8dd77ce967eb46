"""The shipped default models stay within what the repository may carry."""

from pathlib import Path

import polyrel.model

PRETRAINED = Path(polyrel.model.__file__).resolve().parent / "pretrained"
LIMIT_BYTES = 10_000_000  # issue 4: the shipped models, all together


def test_the_shipped_model_directories_weigh_under_ten_megabytes_together() -> None:
    directories = [d for d in PRETRAINED.iterdir() if d.is_dir()]
    assert {d.name for d in directories} >= {"relation-e5-small", "ner-e5-small"}
    assert sum(p.stat().st_size for d in directories for p in d.rglob("*") if p.is_file()) < LIMIT_BYTES
