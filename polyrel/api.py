"""polyrel from Python: load the models once, extract from strings, records or tables.

The same stage functions `polyrel run` chains in Beam (sentences, entities, pairs, the relation
model's decision, the table rows) run here in-process, so a document gives the same triples,
scores and ids either way:

    from polyrel import Extractor
    extractor = Extractor()                       # the shipped defaults
    for result in extractor(["Marie Curie worked at the University of Paris."]):
        for triple in result.triples:
            print(triple.pair.head.text, triple.label, triple.pair.tail.text, round(triple.score, 2))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from polyrel.pipeline.options import RunOptions
from polyrel.schemas.records import DeadLetter, Document, SegmentedDocument, Sentence, SentencePairs, Triple

if TYPE_CHECKING:
    import pyarrow as pa

API_RUN_ID = "api"
RUN_DEFAULTS = RunOptions.__dataclass_fields__


@dataclass(frozen=True)
class Extraction:
    """One input document's result: its sentences with entities, its triples, and what failed."""

    document: Document | None
    sentences: tuple[Sentence, ...]
    triples: tuple[Triple, ...]
    errors: tuple[DeadLetter, ...]


class Extractor:
    """The pipeline's stages in-process, with both models loaded once.

    `ner`: "polyrel" (the NER model), "given" (each record's `entities`) or "stanza" (with
    `stanza_dir`). Models default as in `polyrel run` ($POLYREL_MODEL / $POLYREL_NER_MODEL, else
    the shipped ones); `threshold` None keeps the relation model's own. The pair budget
    (`max_entities` per sentence, `max_pair_distance`, `max_pairs_per_doc`; None: no cap) is
    `polyrel run`'s, with its defaults; each overflow is an error of the document's `Extraction`.
    """

    def __init__(
        self, model: str | None = None, ner: str = "polyrel", ner_model: str | None = None,
        threshold: float | None = None, lang: str | None = None, device: str | None = None,
        precision: str = "auto", batch_size: int = RUN_DEFAULTS["batch_size"].default,
        encoder_batch: int = RUN_DEFAULTS["encoder_batch"].default, cjk_words: str = "segmenter",
        max_entities: int | None = RUN_DEFAULTS["max_entities"].default,
        max_pair_distance: int | None = RUN_DEFAULTS["max_pair_distance"].default,
        max_pairs_per_doc: int | None = RUN_DEFAULTS["max_pairs_per_doc"].default, stanza_dir: str | None = None,
    ) -> None:
        from polyrel.transforms.entities import create_ner_backend
        from polyrel.transforms.relations import RelationModelHandler
        from polyrel.transforms.sentences import SplitDocument

        options = RunOptions(  # the defaults and checks of `polyrel run`
            model=model, ner=ner, ner_model=ner_model, stanza_dir=stanza_dir, lang=lang, threshold=threshold,
            cjk_words=cjk_words, batch_size=batch_size, encoder_batch=encoder_batch, device=device, precision=precision, max_entities=max_entities,
            max_pair_distance=max_pair_distance, max_pairs_per_doc=max_pairs_per_doc)
        self.handler = RelationModelHandler(str(options.model), options.threshold, options.batch_size, options.device,
                                            options.cjk_words, options.precision, options.encoder_batch)
        self.predictor = self.handler.load_model()
        self.ner_name = ner
        self.ner = create_ner_backend(ner, options.ner_settings())
        self.splitter = SplitDocument(stanza_dir, lang)
        config = self.predictor.config
        self.rules = options.pair_filter(config)
        self.model_id = config.model_id or self.handler.model_dir

    def __call__(self, inputs: str | dict[str, Any] | Iterable[str | dict[str, Any]]) -> list[Extraction]:
        """Extract from one text or record, or many: a record is `polyrel run`'s JSONL object
        (`text`, optional `id`, `lang`, `entities`); a bare text gets its position as its id."""
        items = [inputs] if isinstance(inputs, (str, dict)) else list(inputs)
        return [self._one(item, str(position)) for position, item in enumerate(items)]

    def _one(self, item: str | dict[str, Any], position: str) -> Extraction:
        from polyrel.transforms.entities import annotate
        from polyrel.transforms.pairs import document_pairs
        from polyrel.transforms.read import parse_document
        from polyrel.transforms.relations import to_triples

        try:
            document = parse_document({"text": item} if isinstance(item, str) else item, position)
        except ValueError as exc:
            return Extraction(None, (), (), (DeadLetter(None, "read", str(exc)),))
        errors: list[DeadLetter] = []
        segmented = next(iter(self.splitter.process(document)))
        if isinstance(segmented, DeadLetter):
            return Extraction(document, (), (), (segmented,))
        assert isinstance(segmented, SegmentedDocument)
        lang = segmented.sentences[0].lang if segmented.sentences else (document.lang or "und")
        *entity_errors, annotated = annotate(segmented, self.ner(document, lang), self.ner_name)
        errors += entity_errors  # type: ignore[arg-type]
        candidates: list[SentencePairs] = []
        for out in document_pairs(annotated, self.rules):  # type: ignore[arg-type]
            (errors if isinstance(out, DeadLetter) else candidates).append(out)  # type: ignore[arg-type]
        triples: list[Triple] = []
        for result in self.handler.run_inference(candidates, self.predictor):
            for out in to_triples(result):
                (errors if isinstance(out, DeadLetter) else triples).append(out)  # type: ignore[arg-type]
        return Extraction(document, annotated.sentences, tuple(triples), tuple(errors))  # type: ignore[union-attr]

    def triples_table(self, results: Sequence[Extraction]) -> pa.Table:
        """The triples of `results` as `polyrel run` writes them (schemas/tables.py TRIPLES_SCHEMA)."""
        import pyarrow as pa

        from polyrel.schemas import tables

        rows = [tables.triple_row(t, self.model_id, API_RUN_ID) for r in results for t in r.triples]
        return pa.Table.from_pylist(rows, schema=tables.TRIPLES_SCHEMA)

    def extract_table(self, table: Any, text_column: str = "text", id_column: str = "id") -> pa.Table:
        """Triples of every row of a pandas DataFrame or pyarrow Table: texts from `text_column`,
        ids from `id_column` where the table has one, else the row number."""
        import pyarrow as pa

        data = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
        columns = data.to_pydict()
        ids = [str(i) for i in columns[id_column]] if id_column in columns else [str(i) for i in range(data.num_rows)]
        return self.triples_table(self([{"id": i, "text": t} for i, t in zip(ids, columns[text_column])]))


def read_triples(out_dir: str) -> pa.Table:
    """The triples table a `polyrel run` wrote into `out_dir` (`.to_pandas()` for a DataFrame)."""
    from polyrel.pipeline.summary import read_table

    return read_table(out_dir, "triples")


def read_entities(out_dir: str) -> pa.Table:
    """The entities table a `polyrel run` wrote into `out_dir`."""
    from polyrel.pipeline.summary import read_table

    return read_table(out_dir, "entities")
