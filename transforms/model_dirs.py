"""Model directories given as URLs (gs://, s3://…), copied once per worker into a private cache.

Both models' Beam handlers load through `local_model_dir`, so a job on Dataflow or Flink can name
models in object storage; local paths pass through unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import fsspec


def local_model_dir(model_dir: str) -> str:
    """A local copy of a model directory given as a URL (gs://, s3://…); local paths as they are.

    Copies live in the per-user polyrel home (`models/<hash of the URL>`, readable by its owner
    only), written to a fresh folder and renamed into place with a manifest of each file's
    sha256; a copy is reused only when every file still matches it, else fetched again.
    """
    if "://" not in model_dir or model_dir.startswith("file://"):
        return model_dir.removeprefix("file://")
    from polyrel.model.encoders.install import polyrel_home

    cache = polyrel_home() / "models"
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = cache / hashlib.sha256(model_dir.encode()).hexdigest()[:16]
    if _intact(target):
        return str(target)
    fresh = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache))
    fs, path = fsspec.core.url_to_fs(model_dir)
    fs.get(path.rstrip("/") + "/", str(fresh), recursive=True)
    digests = {p.name: _sha256(p) for p in sorted(fresh.iterdir()) if p.is_file()}
    (fresh / MANIFEST).write_text(json.dumps(digests, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(fresh, target)
    except OSError:  # another worker put its copy in place first
        shutil.rmtree(fresh, ignore_errors=True)
        if not _intact(target):
            raise
    return str(target)


MANIFEST = ".polyrel-files.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _intact(directory: Path) -> bool:
    """Whether a cached copy holds exactly the files its manifest lists, unchanged."""
    try:
        digests = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        present = {p.name for p in directory.iterdir() if p.is_file() and p.name != MANIFEST}
        return present == set(digests) and all(_sha256(directory / n) == d for n, d in digests.items())
    except (OSError, ValueError, AttributeError):
        return False
