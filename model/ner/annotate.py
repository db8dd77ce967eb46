"""Training sentences that also hold the NER's own entities, so the relation model meets its mistakes.

End to end, most wrong triples have a head or tail the NER found or bounded wrongly ("Sir" for
"Sir Arthur Conan Doyle"), while a relation model trained on gold entities never scores such a
pair. `with_predicted_entities` adds each span the NER predicts that is no gold entity's, with the
predicted type and no relation, so every candidate pair it makes trains as "no relation". Gold
entities and relations stay as they are (relations index the gold entities, which keep their places).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from polyrel.model.ner.modeling import EntityRecognizer
from polyrel.schemas.records import Entity, Sentence
from polyrel.transforms.segment import token_span


def with_predicted_entities(
    sentences: Sequence[Sentence], recognizer: EntityRecognizer, min_score: float | None = None,
    batch_size: int = 32, desc: str | None = None,
) -> tuple[list[Sentence], Counter[str]]:
    """Each sentence with the NER's non-gold entities appended, and counts of what the NER found:
    `added`, `gold` (a gold entity's span, not added), `below_floor` (scored under `min_score`,
    by default the model's own floor, as the pipeline drops them) and `no_token` (covering no token)."""
    floor = recognizer.config.min_score if min_score is None else min_score
    found = recognizer([s.text for s in sentences], batch_size, desc)
    counts: Counter[str] = Counter()
    out = []
    for sentence, predicted in zip(sentences, found):
        spans = {e.token_span for e in sentence.entities}
        extra: dict[tuple[int, int], Entity] = {}
        for entity in predicted:
            span = token_span(sentence.tokens, entity.start, entity.end)  # type: ignore[arg-type]
            outcome = ("below_floor" if entity.score is not None and entity.score < floor else
                       "no_token" if span is None else "gold" if span in spans or span in extra else "added")
            counts[outcome] += 1
            if outcome == "added":
                extra[span] = Entity.over_tokens(*span, entity.type, sentence.tokens[span[0]].start,  # type: ignore[misc]
                                                 sentence.tokens[span[1] - 1].end)  # type: ignore[index]
        out.append(replace(sentence, entities=sentence.entities + tuple(extra.values())) if extra else sentence)
    return out, counts
