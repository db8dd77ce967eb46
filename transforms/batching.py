"""Batches cut from a grouped stream, for the model stages that feed RunInference pre-batched.

Beam's BatchElements flushes its last batch in `finish_bundle`, whose output DaskRunner drops, so
both model stages group by a key and cut each group into batches here instead: consecutive items
whose sizes sum to at most a budget, taken as the group streams by, so a worker never holds more
than one batch whatever the group's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def budget_batches(items: Iterable[T], size: Callable[[T], int], budget: int) -> Iterator[list[T]]:
    """Consecutive `items` in batches of total `size` at most `budget`; an item over it comes alone."""
    batch: list[T] = []
    total = 0
    for item in items:
        n = size(item)
        if batch and total + n > budget:
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += n
    if batch:
        yield batch
