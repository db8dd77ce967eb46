import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter

from polyrel.schemas.records import Document
from polyrel.transforms.sentences import SplitDocument, SplitSentences

ENGLISH = "Harbour Freight Lines opened a new terminal in Rotterdam on Tuesday. The site will employ two hundred people."


def langs(document):
    (segmented,) = SplitDocument(None).process(document)
    return {s.lang for s in segmented.sentences}


def test_an_untagged_document_gets_the_identified_language_and_a_tag_is_kept():
    assert langs(Document("txt", ENGLISH)) == {"en"}
    assert langs(Document("tagged", ENGLISH, lang="en-GB")) == {"en-GB"}
    assert langs(Document("name", "Siemens AG.")) == {"und"}


def test_a_default_language_replaces_identification_but_not_a_tag():
    def langs_with(document, default):
        (segmented,) = SplitDocument(None, default).process(document)
        return {s.lang for s in segmented.sentences}

    assert langs_with(Document("txt", ENGLISH), "de") == {"de"}  # the user knows the corpus
    assert langs_with(Document("tagged", ENGLISH, lang="en"), "de") == {"en"}


def test_identification_is_counted():
    pipeline = beam.Pipeline()
    _ = (pipeline | beam.Create([Document("a", ENGLISH), Document("b", "Siemens AG."), Document("c", ENGLISH, "en")])
         | SplitSentences(None))
    result = pipeline.run()
    result.wait_until_finish()

    def counter(name):
        found = result.metrics().query(MetricsFilter().with_name(name))["counters"]
        return sum(c.committed for c in found)

    assert counter("documents_language_identified") == 1
    assert counter("documents_language_undetermined") == 1
