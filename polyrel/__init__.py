"""polyrel: cross-lingual relation extraction from raw documents to knowledge-graph triples.

`Extractor` runs the pipeline's stages in-process (see polyrel/api.py); `read_triples` and
`read_entities` read what `polyrel run` wrote. They load on first use, so `import polyrel` and
`polyrel --help` stay instant.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Extraction", "Extractor", "__version__", "read_entities", "read_triples"]


def __getattr__(name: str) -> Any:
    if name in ("Extraction", "Extractor", "read_entities", "read_triples"):
        from polyrel import api

        return getattr(api, name)
    raise AttributeError(f"module 'polyrel' has no attribute {name!r}")
