import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from polyrel.transforms.write import WriteTable, ParquetTable

SCHEMA = pa.schema([("id", pa.string()), ("n", pa.int64())], metadata={"polyrel.table": "t"})


def write(directory, rows, num_shards, run_id="r"):
    with beam.Pipeline() as p:
        _ = p | beam.Create(rows) | WriteTable(str(directory), SCHEMA, ("id",), run_id, num_shards)


def test_sharded_sorted_complete_and_no_temp_left(tmp_path):
    rows = [{"id": f"k{i:03d}", "n": i} for i in range(50)][::-1]
    write(tmp_path, rows, 3)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"part-0000{i}-of-00003.parquet" for i in range(3)]  # no .tmp-* left behind
    table = pq.read_table(tmp_path)
    assert table.schema.equals(SCHEMA, check_metadata=True)
    assert sorted(table.column("id").to_pylist()) == [f"k{i:03d}" for i in range(50)]
    for f in tmp_path.iterdir():
        ids = pq.read_table(f).column("id").to_pylist()
        assert ids == sorted(ids)


def test_rerun_replaces_old_parts_and_empty_table_keeps_schema(tmp_path):
    write(tmp_path, [{"id": f"k{i}", "n": i} for i in range(20)], 4, run_id="first")
    write(tmp_path, [], 4, run_id="second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-00000-of-00001.parquet"]
    table = pq.read_table(tmp_path)
    assert table.num_rows == 0 and table.schema.equals(SCHEMA, check_metadata=True)


def test_finalise_writes_a_shard_the_runner_did_not_report(tmp_path):
    table = ParquetTable(str(tmp_path), SCHEMA, ("id",), "r")
    first = table.write_shard((0, [{"id": "a", "n": 1}]))
    table.write_shard((1, [{"id": "b", "n": 2}]))  # its path lost on the way to the finalising step
    finals = list(table.finalise((None, [first, None])))
    assert len(finals) == 2 and sorted(pq.read_table(tmp_path).column("id").to_pylist()) == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-00000-of-00002.parquet", "part-00001-of-00002.parquet"]
