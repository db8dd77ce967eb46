import gzip
import json

import apache_beam as beam
import fsspec
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to

from polyrel.schemas.records import DeadLetter, Document, Entity, FileCount
from polyrel.transforms.read import InputFile, ReadDocuments, ReadFile, expand_input


def read(path, max_doc_chars=1000):
    """The documents and dead letters of one file; its closing `FileCount` checked against them."""
    *out, tally = ReadFile(max_doc_chars).process(InputFile(str(path), path.name))
    assert tally == FileCount(str(path), len(out), compressed=path.name.endswith(".gz"))
    return out


def test_jsonl_documents_and_every_bad_line_class(tmp_path):
    lines = [
        json.dumps({"id": "ok", "text": "Anna works at Acme.", "lang": "en", "meta": {"k": 1},
                    "entities": [{"start": 0, "end": 4, "type": "PER"}]}).encode(),
        b"{not json",
        json.dumps({"id": "empty", "text": "  \n"}).encode(),
        json.dumps({"id": "long", "text": "x" * 1001}).encode(),
        "{\"id\": \"latin1\", \"text\": \"caf\xe9\"}".encode("latin-1"),
        json.dumps({"id": "notext"}).encode(),
        json.dumps({"id": "badent", "text": "abc", "entities": [{"start": "0", "end": 1, "type": "x"}]}).encode(),
        json.dumps(["a", "list"]).encode(),
        json.dumps({"text": "No id here."}).encode(),
        b"",
    ]
    path = tmp_path / "docs.jsonl"
    path.write_bytes(b"\n".join(lines))
    out = read(path)
    docs = [o for o in out if isinstance(o, Document)]
    dead = {o.source.rsplit(":", 1)[1]: o for o in out if isinstance(o, DeadLetter)}
    assert docs[0] == Document("ok", "Anna works at Acme.", "en", {"k": 1}, (Entity(0, 4, "PER"),))
    assert docs[1].id == "docs.jsonl:9" and docs[1].entities is None  # id falls back to file:line, relative to the root
    assert len(docs) == 2
    assert "unparseable JSON" in dead["2"].reason and dead["2"].raw == "{not json"
    assert dead["3"].reason == "empty text" and dead["3"].doc_id == "empty"
    assert "over --max-doc-chars 1000" in dead["4"].reason and dead["4"].doc_id == "long"
    assert "not UTF-8" in dead["5"].reason
    assert "'text'" in dead["6"].reason
    assert "malformed entity" in dead["7"].reason
    assert "expected a JSON object" in dead["8"].reason
    assert {d.stage for d in dead.values()} == {"read"}


def test_gzip_and_text_files(tmp_path):
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"id": "g", "text": "Gzip works."}\n'))
    (tmp_path / "b.txt").write_text("Plain text.\nSecond line.", encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"caf\xe9")
    (tmp_path / "d.csv").write_text("a,b")
    assert read(tmp_path / "a.jsonl.gz") == [Document("g", "Gzip works.")]
    assert read(tmp_path / "b.txt") == [Document("b.txt", "Plain text.\nSecond line.")]
    [bad] = read(tmp_path / "c.txt")
    assert bad.stage == "read" and "not UTF-8" in bad.reason
    [bad] = read(tmp_path / "d.csv")
    assert "unsupported file type" in bad.reason


def test_expand_directories_globs_and_urls(tmp_path):
    for name in ("x.jsonl", "y.txt", "z.csv", "sub/w.jsonl.gz"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / ".hidden").write_text("")
    names = ("sub/w.jsonl.gz", "x.jsonl", "y.txt", "z.csv")  # z.csv is listed: the reader dead-letters it
    assert list(expand_input(str(tmp_path))) == [InputFile(str(tmp_path / n), n) for n in names]
    assert list(expand_input(str(tmp_path / "*.txt"))) == [InputFile(str(tmp_path / "y.txt"), "y.txt")]
    assert list(expand_input(str(tmp_path / "y.txt"))) == [InputFile(str(tmp_path / "y.txt"), "y.txt")]
    tally, missing = list(expand_input(str(tmp_path / "nothing*.jsonl")))
    assert tally == FileCount(str(tmp_path / "nothing*.jsonl"), records=1)
    assert isinstance(missing, DeadLetter) and "no input files match" in missing.reason
    fsspec.filesystem("memory").pipe("/polyrel-test/expand/a.jsonl", b"")
    url = "memory:///polyrel-test/expand/a.jsonl"
    assert list(expand_input("memory://polyrel-test/expand/*.jsonl")) == [InputFile(url, url)]  # URLs as given


def test_read_documents_transform_from_memory_url():
    fs = fsspec.filesystem("memory")
    fs.pipe("/polyrel-test/read/docs.jsonl", b'{"id": "m1", "text": "One."}\n{"id": "m2", "text": "Two."}\nnope\n')
    with BeamPipeline() as p:
        docs, errors, _ = p | ReadDocuments(["memory://polyrel-test/read/", "memory://polyrel-test/none/*.txt"], 100)
        assert_that(docs | beam.Map(lambda d: d.id), equal_to(["m1", "m2"]), label="docs")
        assert_that(errors | beam.Map(lambda e: (e.stage, e.reason.split(":")[0])),
                    equal_to([("read", "unparseable JSON"), ("read", "no input files match 'memory")]), label="errors")


def test_every_file_counted_and_balanced(tmp_path):
    """Per file: records read = documents kept + dead letters, duplicates and damaged archives included."""
    (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "One."}\n{"id": "1", "text": "Again."}\nnope\n')
    good = b"".join(b'{"id": "g%d", "text": "Doc %d."}\n' % (i, i) for i in range(40))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(good, mtime=0)[:-30])  # cut off near its end
    (tmp_path / "c.csv").write_text("x")
    pattern = str(tmp_path / "none" / "*.txt")
    with BeamPipeline() as p:
        _, _, counts = p | ReadDocuments([str(tmp_path), pattern], 100)
        # every file balances; the cut archive keeps the complete lines before the cut, one dead letter for the cut
        assert_that(counts | beam.Map(balance), equal_to([
            ("a.jsonl", True, 2, False), ("c.csv", True, 1, False), ("*.txt", True, 1, False), ("b.jsonl.gz", True, 1, True),
        ]), label="balanced")
        assert_that(counts | beam.Map(lambda c: f"{c.file.rsplit('/', 1)[1]} {c.records} {c.documents}"),
                    equal_to(["a.jsonl 3 1", "c.csv 1 0", "*.txt 1 0", "b.jsonl.gz 35 34"]), label="counts")


def balance(count: FileCount) -> tuple:
    return count.file.rsplit("/", 1)[1], count.balanced, count.dead_letters, count.compressed
