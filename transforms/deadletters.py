"""Dead letters: how a stage hands over records it cannot process, and the run's counters.

A stage's DoFn yields either its normal output or a `DeadLetter` into one PCollection, and
`split_dead_letters` separates them with two filters. This, rather than tagged outputs, is
deliberate: Beam's DaskRunner feeds every consumer of a multi-output ParDo all of its tags,
while two filters over one PCollection mean the same on every runner.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from polyrel.schemas.records import DeadLetter

NAMESPACE = "polyrel"


def count(name: str, n: int = 1) -> None:
    """Increment the `polyrel` counter `name` (documents, sentences, entities, pairs, relations, errors…)."""
    Metrics.counter(NAMESPACE, name).inc(n)


def dead_letter(letter: DeadLetter) -> DeadLetter:
    """Count a dead letter (in total and per stage) and return it for yielding."""
    count("errors")
    count(f"errors_{letter.stage}")
    return letter


def _is_dead(element: object) -> bool:
    return isinstance(element, DeadLetter)


def _is_alive(element: object) -> bool:
    return not isinstance(element, DeadLetter)


def split_dead_letters(pcoll: beam.PCollection, stage: str) -> tuple[beam.PCollection, beam.PCollection]:
    """(good records, dead letters) of a stage's mixed output."""
    good = pcoll | f"{stage}.Good" >> beam.Filter(_is_alive)
    dead = pcoll | f"{stage}.DeadLetters" >> beam.Filter(_is_dead)
    return good, dead
