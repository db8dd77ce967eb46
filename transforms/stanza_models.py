"""Local stanza models: finding them in `--stanza-dir`, loading each once per worker process.

Nothing is ever downloaded at run time (workers may have no network, and a silent download
would make runs irreproducible); a missing model is an error saying how to install it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_PIPELINES: dict[tuple[str, str, str], Any] = {}


class StanzaModelMissing(RuntimeError):
    pass


def how_to_install(stanza_dir: str | None, lang: str, processors: str) -> str:
    target = stanza_dir or "<dir>"
    return (f"stanza {processors} model for {lang!r} not found in {target}; on a machine with network run "
            f"`python -c \"import stanza; stanza.download('{lang}', model_dir='{target}', "
            f"processors='{processors}')\"` and pass --stanza-dir {target} (copy the directory to workers)")


def has_models(stanza_dir: str | None, lang: str, processors: str) -> bool:
    """Whether every processor's model directory for `lang` holds a model file."""
    if not stanza_dir:
        return False
    root = Path(stanza_dir) / lang
    return all(any((root / p).glob("*.pt")) for p in processors.split(","))


def pipeline(stanza_dir: str | None, lang: str, processors: str) -> Any:
    """A cached `stanza.Pipeline` (shared by the threads of a worker process)."""
    key = (str(stanza_dir), lang, processors)
    with _LOCK:
        if key not in _PIPELINES:
            if not has_models(stanza_dir, lang, processors):
                raise StanzaModelMissing(how_to_install(stanza_dir, lang, processors))
            try:
                import stanza
            except ImportError as exc:
                raise StanzaModelMissing("stanza is not installed; install it with `pip install 'polyrel[stanza]'`"
                                         " (used by --ner stanza and the stanza sentence splitter)") from exc
            try:
                _PIPELINES[key] = stanza.Pipeline(
                    lang=lang, dir=stanza_dir, processors=processors, download_method=None,
                    logging_level="WARN", use_gpu=False,
                )
            except Exception as exc:  # stanza raises assorted errors for incomplete model sets
                raise StanzaModelMissing(f"{how_to_install(stanza_dir, lang, processors)} ({exc})") from exc
        return _PIPELINES[key]
