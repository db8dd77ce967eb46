"""Stage 2: documents to sentences and tokens, with document character offsets.

A document without a language tag gets `--lang`, else one from `language.py` (or stays `und`). stanza's
tokenizer is used for a language whose model is present in `--stanza-dir`; every
other document goes through the embedded rule-based splitter (`segment.py`), which needs no
download. A document neither can handle (unknown language tag, unsupported script) is a
dead letter.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from polyrel.schemas.records import DeadLetter, Document, SegmentedDocument, Sentence, Token
from polyrel.transforms import language, segment, stanza_models
from polyrel.transforms.deadletters import count, dead_letter, split_dead_letters

STAGE = "sentences"


def stanza_sentences(document: Document, lang: str, stanza_dir: str) -> list[Sentence]:
    parsed = stanza_models.pipeline(stanza_dir, lang, "tokenize")(document.text)
    sentences: list[Sentence] = []
    for s in parsed.sentences:
        tokens = tuple(Token(t.text, t.start_char, t.end_char) for t in s.tokens)
        start, end = tokens[0].start, tokens[-1].end
        sentences.append(Sentence(document.id, len(sentences), start, end, document.text[start:end], lang, tokens))
    return sentences


def rule_sentences(document: Document, lang: str) -> list[Sentence]:
    return [
        Sentence(document.id, i, start, end, document.text[start:end], lang, segment.tokenize(document.text, start, end))
        for i, (start, end) in enumerate(segment.split_sentences(document.text, lang))
    ]


class SplitDocument(beam.DoFn):
    def __init__(self, stanza_dir: str | None, default_lang: str | None = None) -> None:
        self.stanza_dir = stanza_dir
        self.default_lang = default_lang  # `--lang`: what an untagged document is, instead of identifying it

    def process(self, document: Document) -> Iterator[SegmentedDocument | DeadLetter]:
        lang = document.lang or self.default_lang
        if not lang:
            lang = language.identify(document.text)
            count("documents_language_identified" if lang != "und" else "documents_language_undetermined")
        if self.stanza_dir and stanza_models.has_models(self.stanza_dir, lang, "tokenize"):
            sentences = stanza_sentences(document, lang, self.stanza_dir)
        else:
            reason = segment.unsupported_reason(document.text, lang)
            if reason:
                yield dead_letter(DeadLetter(document.id, STAGE, reason))
                return
            sentences = rule_sentences(document, lang)
        count("sentences", len(sentences))
        yield SegmentedDocument(document, tuple(sentences))


class SplitSentences(beam.PTransform):
    """Documents → (segmented documents, dead letters)."""

    def __init__(self, stanza_dir: str | None, default_lang: str | None = None) -> None:
        super().__init__()
        self.stanza_dir = stanza_dir
        self.default_lang = default_lang

    def expand(self, documents: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        split = SplitDocument(self.stanza_dir, self.default_lang)
        return split_dead_letters(documents | "Split" >> beam.ParDo(split), "Split")
