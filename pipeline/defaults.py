"""What `polyrel run` uses when the command line leaves something out: one place to change.

The default relation model and NER come from a later issue; until then `default_model_dir`
answers only from the environment, and `--model` is required when it answers None.
"""

from __future__ import annotations

import os
from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
DEFAULT_OUTPUT = "runs/pipeline"
DEFAULT_NER = "given"
MODEL_ENV = "POLYREL_MODEL"


def default_inputs() -> tuple[str, ...]:
    """The bundled multilingual sample corpus (JSONL with pre-annotated entities, and a .txt)."""
    return (str(SAMPLE_DIR),)


def default_model_dir() -> str | None:
    """The relation model directory used without `--model`: `$POLYREL_MODEL`, else none yet."""
    return os.environ.get(MODEL_ENV) or None
