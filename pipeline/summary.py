"""Reading a run's output back: tables as Arrow, and the short report `polyrel run` prints."""

from __future__ import annotations

from collections import Counter

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from polyrel.terminal import printable


def read_table(output: str, name: str) -> pa.Table:
    """One output table (all its parts) as written by a run into `output`."""
    fs, path = fsspec.core.url_to_fs(f"{output.rstrip('/')}/{name}")
    return pq.read_table(path, filesystem=fs)


def _counts(title: str, values: list[str]) -> list[str]:
    counts = Counter(values)
    return [f"{title}: " + (", ".join(f"{k} {n}" for k, n in counts.most_common()) or "none")]


def accounting(files: pa.Table, shown: int = 10) -> list[str]:
    """Every input record ends as a document or a dead letter of the read stage: the total, then
    each compressed or unbalanced file (up to `shown`), from the run's `files` table."""
    rows = files.to_pylist()
    records, documents, dead = (sum(r[k] for r in rows) for k in ("records", "documents", "dead_letters"))
    unbalanced = [r for r in rows if r["records"] != r["documents"] + r["dead_letters"]]
    verdict = "every record accounted for" if not unbalanced else f"MISMATCH in {len(unbalanced)} files: records lost"
    lines = [f"accounting: records {records} = documents {documents} + read dead letters {dead} in {len(rows)} files ({verdict})"]
    listed = unbalanced + [r for r in rows if r["compressed"] and r not in unbalanced]
    for r in listed[:shown]:
        mark = "" if r in unbalanced else " (gzip)"
        lines.append(printable(f"  {r['file']}{mark}: records {r['records']} = documents {r['documents']}"
                               f" + dead letters {r['dead_letters']}" + ("  MISMATCH" if r in unbalanced else "")))
    if len(listed) > shown:
        lines.append(f"  … {len(listed) - shown} more in the files table")
    return lines


def summarise(output: str, counters: dict[str, int] | None, examples: int = 5) -> str:
    triples, errors = read_table(output, "triples"), read_table(output, "errors")
    lines = [f"output: {output}"]
    if counters is None:
        lines.append("counters: not reported by this runner")
    else:
        lines.append("counters: " + ", ".join(f"{k} {v}" for k, v in counters.items()))
    lines += accounting(read_table(output, "files"))
    lines.append(f"triples: {triples.num_rows}")
    lines += _counts("  by relation", triples.column("relation").to_pylist())
    lines += _counts("  by language", triples.column("lang").to_pylist())
    rows = triples.sort_by([("score", "descending")]).slice(0, examples).to_pylist()
    for r in rows:
        lines.append(printable(f"  [{r['lang']}] {r['head_text']} ({r['head_type']}) --{r['relation']}--> "
                               f"{r['tail_text']} ({r['tail_type']})  {r['score']:.3f}  {r['doc_id']}#{r['sentence_index']}"))
    lines.append(f"errors: {errors.num_rows}")
    lines += _counts("  by stage", errors.column("stage").to_pylist())
    return "\n".join(lines)
