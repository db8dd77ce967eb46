"""Batches of similar length: what every encoder pass of both models, in training and inference, is cut into."""

from __future__ import annotations


def length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, so padding stays small."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
