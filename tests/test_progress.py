"""Progress bars: on a terminal unless --quiet, never in logs (a stream that is not a terminal)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from polyrel import progress
from polyrel.cli import run_console
from tests.kg.helpers import corpus, write


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def on_terminal(monkeypatch: pytest.MonkeyPatch):
    """Call it in the test body (pytest swaps sys.stderr back between setup and call) to make
    stderr a terminal that records what is written."""
    monkeypatch.setenv(progress.QUIET_ENV, "0")

    def attach() -> io.StringIO:
        stream = Terminal()
        monkeypatch.setattr(sys, "stderr", stream)
        return stream

    return attach


def test_bars_show_on_a_terminal_only(on_terminal, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = on_terminal()
    assert list(progress.track(range(3), "counting")) == [0, 1, 2]
    assert "counting" in terminal.getvalue()
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    assert list(progress.track(range(3), "counting")) == [0, 1, 2]
    assert log.getvalue() == ""


def test_counters_tick_until_closed(on_terminal) -> None:
    terminal = on_terminal()
    for _ in range(4):
        progress.tick("documents", unit="doc")
    progress.close_counters()
    assert "documents" in terminal.getvalue() and "doc" in terminal.getvalue()


def test_kg_load_shows_progress_and_quiet_hides_it(on_terminal, tmp_path: Path) -> None:
    terminal = on_terminal()
    source = write(tmp_path / "t" / "part.parquet", corpus())
    assert run_console(["kg", "load", "--store", str(tmp_path / "store"), str(source)]) == 0
    assert "kg load" in terminal.getvalue()
    terminal.truncate(0)
    terminal.seek(0)
    assert run_console(["--quiet", "kg", "load", "--store", str(tmp_path / "quiet"), str(source)]) == 0
    assert "kg load" not in terminal.getvalue()
