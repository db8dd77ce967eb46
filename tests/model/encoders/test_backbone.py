"""Compact (adapter) model directories: what the repository ships on top of a base encoder."""

import json
import logging
import shutil

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from polyrel.model.encoders.backbone import AdapterConfig, ModelDirectoryError
from polyrel.model.relation.modeling import RelationModel
from polyrel.model.relation.predictor import PairQuery, RelationPredictor
from polyrel.model.relation.training import initialise_model
from polyrel.schemas.records import Entity
from tests.conftest import WORDS, tiny_bert, tiny_xlmr

QUERY = PairQuery(tuple("anna works at siemens in berlin".split()), Entity.over_tokens(0, 1, "person"), Entity.over_tokens(3, 4, "organisation"))


@pytest.fixture()
def compact(tmp_path):
    base = tiny_bert(tmp_path / "base")
    model, tokenizer = initialise_model(str(base), ("role",), ("person", "organisation"), max_length=32, seed=2,
                                        adapter=AdapterConfig(r=4, alpha=8))
    with torch.no_grad():  # make the adapters non-trivial (LoRA B starts at zero)
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    model.eval()
    expected = RelationPredictor(model, model.config.pair_encoder(tokenizer), "cpu")
    directory = tmp_path / "compact"
    model.save_pretrained(directory, tokenizer)
    return base, directory, expected.probabilities([expected.encode(QUERY)])


def test_compact_directory_is_small_and_reloads_identically(compact):
    base, directory, expected = compact
    names = {p.name for p in directory.iterdir()}
    assert names == {"config.json", "model.safetensors"}
    assert (directory / "model.safetensors").stat().st_size < (base / "model.safetensors").stat().st_size
    loaded = RelationPredictor.load(directory, device="cpu", precision="fp32")
    assert torch.allclose(torch.tensor(loaded.probabilities([loaded.encode(QUERY)])), torch.tensor(expected), atol=1e-6)


def test_missing_base_encoder_refused_with_instructions(compact):
    base, directory, _ = compact
    shutil.rmtree(base)
    with pytest.raises(ModelDirectoryError, match="base encoder .* (not found|not available)"):
        RelationModel.from_pretrained(directory)


def test_mismatched_base_encoder_refused(compact, tmp_path):
    _, directory, _ = compact
    config = json.loads((directory / "config.json").read_text())
    other = tiny_bert(tmp_path / "other", words=("completely", "different", "vocabulary"))
    config["encoder"] = str(other)
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirectoryError, match="fingerprint"):
        RelationModel.from_pretrained(directory)


def test_loading_a_model_directory_raises_no_false_tokenizer_alarm(tmp_path, caplog):
    # transformers 5 inspects fast tokenizers of over 100k pieces beside a config.json that is not its
    # own (polyrel's) and warns of "incorrect tokenization"; real XLM-R vocabularies are 250k
    encoder = tiny_xlmr(tmp_path / "encoder", (*WORDS, *(f"filler{i}" for i in range(100_001))))
    model, tokenizer = initialise_model(str(encoder), ("role",), ("person", "organisation"), "etm", "emp",
                                        "extract", 32, (("person", "organisation"),), seed=0)
    model.save_pretrained(tmp_path / "model", tokenizer)
    with caplog.at_level(logging.WARNING):
        loaded = RelationPredictor.load(tmp_path / "model", device="cpu")
    assert not [r for r in caplog.records if "incorrect tokenization" in r.getMessage()]
    text = "anna works at siemens filler7"
    assert loaded.encoder.tokenizer(text)["input_ids"] == tokenizer(text)["input_ids"]


def test_compact_directory_stores_trained_top_layers_in_half_precision_and_refuses_them_missing(tmp_path):
    base = tiny_bert(tmp_path / "base")
    model, tokenizer = initialise_model(str(base), ("role",), ("person", "organisation"), max_length=32, seed=2,
                                        adapter=AdapterConfig(r=0, top_layers=1))
    model.save_pretrained(tmp_path / "compact", tokenizer)
    with safe_open(str(tmp_path / "compact" / "model.safetensors"), "pt") as handle:
        encoder_keys = {k for k in handle.keys() if k.startswith("encoder.")}  # noqa: SIM118
        assert encoder_keys and all(k.startswith("encoder.encoder.layer.1.") for k in encoder_keys)
        assert {handle.get_tensor(k).dtype for k in encoder_keys} == {torch.float16}
    loaded, _ = RelationModel.from_pretrained(tmp_path / "compact")
    trainable = {n for n, p in loaded.named_parameters() if p.requires_grad and n.startswith("encoder.")}
    assert trainable == encoder_keys
    weights = tmp_path / "compact" / "model.safetensors"
    state = load_file(str(weights))
    del state["encoder.encoder.layer.1.output.dense.weight"]
    save_file(state, str(weights))
    with pytest.raises(ModelDirectoryError, match="do not match the adapter layout"):
        RelationModel.from_pretrained(tmp_path / "compact")


def test_more_top_layers_than_the_encoder_has_refused(tmp_path):
    with pytest.raises(ValueError, match="top_layers=3, but the encoder has 2 layers"):
        initialise_model(str(tiny_bert(tmp_path / "base")), ("role",), ("person",), max_length=32,
                         adapter=AdapterConfig(r=0, top_layers=3))


@pytest.mark.parametrize("edit,message", [
    (lambda c: "{not json", "Expecting property name"),
    (lambda c: json.dumps({**c, "adapter": {**(c["adapter"] or {}), "rank": 3}}), "unknown adapter keys"),
    (lambda c: json.dumps({**c, "max_length": -1}), "max_length must be an integer of at least 8"),
    (lambda c: json.dumps({**c, "surprise": 1}), "unknown config keys"),
    (lambda c: json.dumps([1, 2]), "not a JSON object"),
])
def test_a_tampered_config_is_refused_naming_the_file(tiny_relation_model_dir, tmp_path, edit, message):
    directory = tmp_path / "m"
    shutil.copytree(tiny_relation_model_dir, directory)
    config = json.loads((directory / "config.json").read_text())
    config["adapter"] = config["adapter"] or {"r": 0, "alpha": 0, "dropout": 0.0, "target_modules": [], "top_layers": 0}
    (directory / "config.json").write_text(edit(config))
    with pytest.raises(ModelDirectoryError, match=message) as raised:
        RelationModel.from_pretrained(directory)
    assert str(directory / "config.json") in str(raised.value)
