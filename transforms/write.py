"""Stage 6: rows to Parquet files, all or nothing, identical on every runner.

Protocol (the one Beam's FileBasedSink follows): each shard is written to a temporary file
under `<directory>/.tmp-<run id>-<nonce>/`; once every shard is written, one finalising step renames
them to `part-SSSSS-of-NNNNN.parquet`, removes parts an earlier run left behind and deletes the
temporary directory. Until that step readers see the previous complete output (or none),
never a partial one; a retried shard overwrites its own temporary file. The temporary directory
is named for the run and this pipeline object, so an earlier attempt's leftovers are never read.
The finalising step takes the shards it finds in that directory, not only the paths the write
step reported: a runner that loses a reported path still has every written row published, with
a warning (one CI run got an empty triples table from DaskRunner, most likely this way).

Why not `beam.io.WriteToParquet`: its expansion relies on side inputs that DaskRunner
recomputes per consumer (each recomputation opens a new temporary directory) and on outputs
from `finish_bundle`, which DaskRunner drops, so on Dask it writes empty files. This sink uses
only GroupByKey and Map, which mean the same on DirectRunner, Dask, Dataflow and Flink.

Rows go to a shard by a hash of their id, and are sorted within it, so the same rows give
byte-identical files whatever the bundle order. Identical rows are written once: a runner that
delivers an element twice (DaskRunner on a threaded cluster re-emits earlier partitions'
outputs, since its ParDo shares one output buffer between tasks) cannot duplicate a row. A table with no rows still gets one empty
file carrying the schema, so readers never meet a missing table.
"""

from __future__ import annotations

import json
import logging
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from polyrel.transforms.deadletters import count

log = logging.getLogger(__name__)
PART = "part-{shard:05d}-of-{total:05d}.parquet"


def _shard(row: dict[str, Any], key: Sequence[str], num_shards: int) -> int:
    return zlib.crc32("\x1f".join(str(row[k]) for k in key).encode()) % num_shards


def _sort_key(key: Sequence[str]) -> Any:
    return lambda row: tuple("" if row[k] is None else str(row[k]) for k in key)


def _write(fs: fsspec.AbstractFileSystem, path: str, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    with fs.open(path, "wb") as handle:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), handle, compression="zstd")


class ParquetTable:
    """Where and how one table is written: the write step (one temporary file per shard) and the
    finalising step (publish them as parts) of `WriteTable`."""

    def __init__(self, directory: str, schema: pa.Schema, key: Sequence[str], run_id: str) -> None:
        self.directory = directory.rstrip("/")
        self.schema = schema
        self.key = tuple(key)
        self.temp = f"{self.directory}/.tmp-{run_id}-{uuid.uuid4().hex[:8]}"

    def write_shard(self, shard_rows: tuple[int, Iterable[dict[str, Any]]]) -> str:
        shard, rows = shard_rows
        fs, temp = fsspec.core.url_to_fs(self.temp)
        fs.makedirs(temp, exist_ok=True)
        path = f"{temp}/shard-{shard:05d}.parquet"
        unique = {json.dumps(row, sort_keys=True, default=str): row for row in rows}
        _write(fs, path, sorted(unique.values(), key=_sort_key(self.key)), self.schema)
        return path

    def finalise(self, keyed: tuple[None, Iterable[str | None]]) -> Iterator[str]:
        fs, directory = fsspec.core.url_to_fs(self.directory)
        reported = {p for p in keyed[1] if p is not None}
        _, temp_dir = fsspec.core.url_to_fs(self.temp)
        written = set(fs.glob(f"{temp_dir}/shard-*.parquet"))
        if reported - written:
            raise FileNotFoundError(f"shard files reported written are missing: {sorted(reported - written)[:3]}")
        if written - reported:
            log.warning("%s: %d shard files written but not reported by the runner; writing them too",
                        self.directory, len(written - reported))
            count("parquet_shards_unreported", len(written - reported))
        temps = sorted(written)
        fs.makedirs(directory, exist_ok=True)
        total = max(len(temps), 1)
        finals = [f"{directory}/{PART.format(shard=i, total=total)}" for i in range(total)]
        for stale in fs.glob(f"{directory}/part-*.parquet"):
            if stale not in finals:
                fs.rm(stale)
        if temps:
            for temp, final in zip(temps, finals):
                fs.mv(temp, final)
        else:
            _write(fs, finals[0], [], self.schema)
        if fs.exists(temp_dir):
            fs.rm(temp_dir, recursive=True)
        yield from (fs.unstrip_protocol(f) if "://" in self.directory else f for f in finals)


class WriteTable(beam.PTransform):
    """Rows (dicts matching `schema`) → Parquet parts under `directory`; outputs the final file paths."""

    def __init__(self, directory: str, schema: pa.Schema, key: Sequence[str], run_id: str, num_shards: int) -> None:
        super().__init__()
        self.table = ParquetTable(directory, schema, key, run_id)
        self.num_shards = num_shards

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        table, key, num_shards = self.table, self.table.key, self.num_shards
        temps = (
            rows
            | "Shard" >> beam.Map(lambda row: (_shard(row, key, num_shards), row))
            | "GroupShards" >> beam.GroupByKey()
            | "WriteShards" >> beam.Map(table.write_shard)
        )
        always = rows.pipeline | "Once" >> beam.Create([None])  # finalise runs even with no rows
        return (
            (temps, always)
            | "Collect" >> beam.Flatten()
            | "OneKey" >> beam.Map(lambda path: (None, path))
            | "GroupAll" >> beam.GroupByKey()
            | "Finalise" >> beam.FlatMap(table.finalise)
        )
