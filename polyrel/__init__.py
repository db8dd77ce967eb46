"""polyrel: cross-lingual relation extraction from raw documents to knowledge-graph triples."""

__version__ = "0.1.0"
