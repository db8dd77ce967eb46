"""The Dataflow image installs polyrel with --no-deps, so the worker requirements must name
every runtime dependency of the package themselves."""
from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]
IN_SDK_CONTAINER = {"apache-beam"}


def names(lines: list[str]) -> set[str]:
    return {Requirement(line).name.lower() for line in lines}


def test_worker_requirements_cover_package_dependencies() -> None:
    package = names(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    worker_lines = [l.strip() for l in (ROOT / "deploy" / "requirements-worker.txt").read_text().splitlines()]
    worker = names([l for l in worker_lines if l and not l.startswith("#")])
    assert package - IN_SDK_CONTAINER - worker == set()
