"""What `polyrel run` uses when the command line leaves something out: one place to change.

The default models ship inside the package (`model/pretrained/`, see its MODEL_CARD.md):
compact directories of a few MB each on top of the offline multilingual-e5-small encoder.
An environment variable overrides each, for deployments that bake in their own.
"""

from __future__ import annotations

import os
from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
DEFAULT_OUTPUT = "runs/pipeline"
DEFAULT_NER = "polyrel"
MODEL_ENV = "POLYREL_MODEL"
NER_MODEL_ENV = "POLYREL_NER_MODEL"


def default_inputs() -> tuple[str, ...]:
    """The bundled multilingual sample corpus (JSONL with pre-annotated entities, and a .txt)."""
    return (str(SAMPLE_DIR),)


def _pretrained(name: str) -> Path:
    """A shipped model directory, wherever the package is installed (editable or not)."""
    from importlib.resources import files

    return Path(str(files("polyrel.model") / "pretrained" / name))


def default_model_dir() -> str:
    """The relation model used without `--model`: `$POLYREL_MODEL`, else the shipped one."""
    return os.environ.get(MODEL_ENV) or str(_pretrained("relation-e5-small"))


def default_ner_dir() -> str:
    """polyrel's NER model used without `--ner-model`: `$POLYREL_NER_MODEL`, else the shipped one."""
    return os.environ.get(NER_MODEL_ENV) or str(_pretrained("ner-e5-small"))
