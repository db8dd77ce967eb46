"""README.md's Python API snippet runs as written, on the shipped models."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_stays_short():
    assert README.stat().st_size <= 15 * 1024


@pytest.mark.slow
def test_python_api_snippet_runs_as_written():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python API"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    scope: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(snippet, "README.md", "exec"), scope)  # noqa: S102 (the README is ours)
    results, table = scope["results"], scope["table"]
    assert [r.document.id for r in results] == ["0", "de-1"]
    assert all(any(s.entities for s in r.sentences) for r in results)  # the shipped NER finds entities in both
    assert table.num_rows == sum(len(r.triples) for r in results) == len(printed.getvalue().splitlines())
