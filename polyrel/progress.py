"""Progress bars of long commands: tqdm on stderr when it is a terminal, off with `polyrel --quiet`.

Bars show only on a terminal (tqdm's `disable=None`), so logs of CI jobs and of remote Beam
workers stay free of them. The switch is an environment variable rather than an argument threaded through every call, so
code far from the command line (a Beam DoFn, a model's batch loop) reads the same setting, and
so do worker processes the command starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

QUIET_ENV = "POLYREL_QUIET"
T = TypeVar("T")


def set_quiet(quiet: bool = True) -> None:
    os.environ[QUIET_ENV] = "1" if quiet else "0"


def enabled() -> bool:
    return os.environ.get(QUIET_ENV, "0") != "1"


def bar(iterable: Iterable[T] | None = None, *, desc: str, total: int | None = None, unit: str = "it",
        show: bool = True) -> tqdm:
    """A bar over `iterable` (or one to `update` by hand), cleared when it closes; `show=False`
    gives a silent one, for callers that want a bar only sometimes."""
    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=None if show and enabled() else True, leave=False,
                dynamic_ncols=True)


def track(iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """`iterable`, with a bar while it is consumed."""
    with bar(iterable, desc=desc, total=total, unit=unit) as items:
        yield from items


_counters: dict[str, tqdm] = {}


def tick(name: str, n: int = 1, unit: str = "it") -> None:
    """Count `n` events on the bar `name`, total unknown (documents through a Beam stage). One bar
    per process and name: the copies of a DoFn that Beam builds in one process all tick it."""
    if not enabled():
        return
    if name not in _counters:
        _counters[name] = bar(desc=name, unit=unit)
    _counters[name].update(n)


def close_counters() -> None:
    for b in _counters.values():
        b.close()
    _counters.clear()
