"""The language of a document that arrives without a tag (a `.txt` file, a JSONL record without `lang`).

The script decides where it can (kana → ja, Hangul → ko, Han → zh, Greek → el); otherwise a
character n-gram classifier (py3langid, its model bundled in the wheel, nothing downloaded) picks
among the languages the sentence splitter handles, and its answer is kept only when it is
confident. A short or mixed text stays `und`, which every stage accepts: a wrong tag would send a
document to another language's stanza models, an absent one only to the embedded splitter.
"""

from __future__ import annotations

from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from polyrel.transforms import segment

# Below this probability (normalised over the candidate languages) the answer is `und`: on
# single names ("Berlin", "Siemens AG") the classifier's best guess sits under 0.2.
MIN_PROBABILITY = 0.5
# The opening characters decide; a long document adds time, not accuracy.
MAX_CHARS = 2000


@cache
def _classifier() -> LanguageIdentifier:
    """Loaded once per process (Beam workers included) and restricted to the splitter's languages."""
    classifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    classifier.set_languages(sorted(segment.LANGUAGES & set(classifier.nb_classes)))
    return classifier


def identify(text: str) -> str:
    """An ISO 639-1 tag, or `und` when neither the script nor a confident classifier decides."""
    by_script = segment.guess_language(text)
    if by_script != "und":
        return by_script
    lang, probability = _classifier().classify(text[:MAX_CHARS])
    return str(lang) if probability >= MIN_PROBABILITY else "und"
