"""How a benchmark writes its result file: one JSON record that names the command that made it.

One writer keeps every file under `benchmarks/results/` alike, and the recorded command retypeable
from the repository root (`python -m benchmarks.<name> ...`). A record names the model it measured
by its weights, not as "the shipped one", which stops being true when the shipped default changes.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def command(module: str, argv: Sequence[str] | None = None) -> str:
    """The command line that runs `module` with `argv` (the process's own arguments when None)."""
    return shlex.join(["python", "-m", module, *(sys.argv[1:] if argv is None else argv)])


def write(path: Path, record: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def model_label(directory: str | Path) -> str:
    """`NAME@SHA` of a model directory (`polyrel.model.encoders.backbone.weights_label`)."""
    from polyrel.model.encoders.backbone import weights_label

    return weights_label(directory)
