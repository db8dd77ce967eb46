import itertools
import json

import numpy as np
import pytest
from transformers import AutoTokenizer

from polyrel.cli import main
from polyrel.model.encoders.backbone import AdapterConfig, ModelDirectoryError
from polyrel.model.encoders.install import resolve_encoder
from polyrel.model.ner.modeling import EntityRecognizer, NerModel, decode_tags, encode_text, tag_subtokens
from polyrel.model.ner.training import NerTask, evaluate_ner, initialise_ner
from polyrel.model.training.data import write_jsonl
from polyrel.model.training.trainer import Trainer, TrainingConfig
from polyrel.schemas.records import Entity
from tests.model.relation.test_training import toy_sentences

# (text, entities as (start, end, type)): one case per script family
SCRIPTS = {
    "latin": ("Angela Merkel visited Paris.", [(0, 13, "person"), (22, 27, "location")]),
    "cyrillic": ("Владимир Путин посетил Москву.", [(0, 14, "person"), (23, 29, "location")]),
    "greek": ("Ο Αλέξης Τσίπρας επισκέφθηκε την Αθήνα.", [(2, 16, "person"), (33, 38, "location")]),
    "chinese": ("习近平访问了北京大学。", [(0, 3, "person"), (6, 10, "university")]),
    "japanese": ("日本の首都は東京です。", [(0, 2, "country"), (6, 8, "location")]),
    "katakana": ("トヨタは愛知県にある。", [(0, 3, "organisation"), (4, 7, "location")]),
}


@pytest.fixture(scope="module")
def e5_tokenizer():
    return NerModel.prepare_tokenizer(AutoTokenizer.from_pretrained(resolve_encoder("multilingual-e5-small")))


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_tags_roundtrip_to_exact_character_spans(script, e5_tokenizer):
    """Gold spans → sub-token BIO tags → decoded spans: the offsets must come back exactly."""
    text, spans = SCRIPTS[script]
    entities = [Entity(*s) for s in spans]
    (window,) = encode_text(e5_tokenizer, text, 64)
    tags = tag_subtokens(window.offsets, entities, text)
    tagset = ("O", *(f"{p}-{t}" for t in sorted({e.type for e in entities}) for p in "BI"))
    probs = np.array([[1.0 if (t or "O") == name else 0.0 for name in tagset] for t in tags])
    decoded = decode_tags(window.offsets, probs, tagset, text)
    assert [(e.start, e.end, e.type) for e in decoded] == spans
    assert [text[e.start:e.end] for e in decoded] == [text[s:e] for s, e, _ in spans]


def test_long_text_is_windowed_not_cut(e5_tokenizer):
    text = " ".join(["Paris"] * 300)
    windows = encode_text(e5_tokenizer, text, 64)
    content = [o for w in windows for o in w.offsets if o != (0, 0)]
    assert len(windows) > 1 and all(len(w.input_ids) <= 64 for w in windows)
    assert content[-1][1] == len(text)


@pytest.mark.parametrize("family", ["tiny_bert_dir", "tiny_xlmr_dir"])
def test_tiny_ner_overfits(family, request, tmp_path):
    sentences = toy_sentences()
    types = sorted({e.type for s in sentences for e in s.entities})
    model, tokenizer = initialise_ner(str(request.getfixturevalue(family)), types, 32, seed=1)
    config = TrainingConfig(epochs=30, learning_rate=3e-3, head_learning_rate=1e-2, batch_size=8, patience=30, progress=False)
    result = Trainer(model, tokenizer, config, device="cpu").fit(NerTask(model, tokenizer, sentences, sentences), tmp_path)
    assert result.best_dev_f1 == 1.0
    report = evaluate_ner(EntityRecognizer.load(tmp_path, device="cpu"), sentences)
    assert report.micro_f1 == 1.0 and report.n_pairs == 60


def test_compact_ner_reloads_and_refuses_wrong_base(tiny_xlmr_dir, tiny_bert_dir, tmp_path):
    model, tokenizer = initialise_ner(str(tiny_xlmr_dir), ["person"], 32, seed=1, adapter=AdapterConfig(r=2, alpha=4))
    model.eval()
    text = "anna met peter"
    before = EntityRecognizer(model, tokenizer, "cpu").tag_probabilities(encode_text(tokenizer, text, 32))[0]
    model.save_pretrained(tmp_path / "ner", tokenizer)
    loaded = EntityRecognizer.load(tmp_path / "ner", device="cpu", precision="fp32")
    after = loaded.tag_probabilities(encode_text(loaded.tokenizer, text, 32))[0]
    assert np.allclose(before, after, atol=1e-6)
    config = json.loads((tmp_path / "ner" / "config.json").read_text())
    config["encoder"] = str(tiny_bert_dir)
    (tmp_path / "ner" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirectoryError, match="fingerprint"):
        NerModel.from_pretrained(tmp_path / "ner")


def test_ner_cli(tiny_bert_dir, tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    write_jsonl(toy_sentences(), str(data))
    assert main(["ner", "train", "--train", str(data), "--output", str(tmp_path / "m"), "--encoder", str(tiny_bert_dir),
                 "--epochs", "1", "--max-length", "32", "--quiet"]) == 0
    assert main(["ner", "evaluate", "--model", str(tmp_path / "m"), "--data", str(data), "--report", str(tmp_path / "r.json")]) == 0
    assert "micro P" in capsys.readouterr().out
    texts = tmp_path / "texts.jsonl"
    texts.write_text(json.dumps({"id": "1", "text": "anna works at siemens in berlin"}) + "\n")
    assert main(["ner", "predict", "--model", str(tmp_path / "m"), "--input", str(texts), "--output", str(tmp_path / "o.jsonl")]) == 0
    (row,) = [json.loads(l) for l in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert all(row["text"][e["start"]:e["end"]] == e["text"] for e in row["entities"])


def test_decoded_span_inside_a_word_widens_to_the_word():
    text = "Kestrel Observatory lies in Chile."
    offsets = ((0, 2), (2, 7), (8, 19), (20, 24), (25, 27), (28, 33), (33, 34))  # Ke|strel Observatory ...
    tagset = ("O", "B-organisation", "I-organisation")
    tags = [0, 1, 2, 0, 0, 0, 0]  # the tagger missed "Ke"
    probs = np.eye(3)[tags]
    (entity,) = decode_tags(offsets, probs, tagset, text)
    assert text[entity.start:entity.end] == "Kestrel Observatory"
    han = "北京大学"
    (inner,) = decode_tags(((0, 2), (2, 4)), np.eye(3)[[1, 0]], ("O", "B-location", "I-location"), han)
    assert han[inner.start:inner.end] == "北京"  # no word boundaries to widen to in Han text


def test_decoding_gives_each_span_one_type_and_never_a_fragment():
    text = "Sir Arthur Conan Doyle wrote."
    offsets = ((0, 3), (3, 10), (10, 16), (16, 19), (19, 22), (22, 28), (28, 29))  # Sir| Arthur| Conan| Do|yle| wrote|.
    tagset = ("O", "B-person", "I-person", "B-writer", "I-writer")
    probs = np.full((7, 5), 0.01)
    for row, (tag, p) in enumerate([(1, .6), (4, .5), (2, .6), (4, .5), (3, .5), (0, .9), (0, .9)]):
        probs[row, tag] = p  # argmax per piece: B-person I-writer I-person I-writer B-writer O O
    entities = decode_tags(offsets, probs / probs.sum(1, keepdims=True), tagset, text)
    spans = [(e.start, e.end) for e in entities]
    assert len(set(spans)) == len(spans) and all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert "Doyle" in [text[s:e].split()[-1] for s, e in spans]  # Do|yle is one word: never cut
    assert all(0 < e.score <= 1 for e in entities)


def test_an_inside_tag_after_outside_starts_its_entity_with_a_begin():
    text = "in Paris today"
    offsets = ((0, 2), (2, 8), (8, 14))
    tagset = ("O", "B-location", "I-location")
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.35, 0.45], [0.9, 0.05, 0.05]])
    (entity,) = decode_tags(offsets, probs, tagset, text)
    assert (text[entity.start:entity.end], entity.type) == ("Paris", "location")
    assert entity.score == pytest.approx(0.35)


def test_ner_cli_trains_further_from_a_saved_model_and_refuses_unknown_types(tiny_bert_dir, tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    write_jsonl(toy_sentences(), str(data))
    first = tmp_path / "first"
    assert main(["ner", "train", "--train", str(data), "--output", str(first), "--encoder", str(tiny_bert_dir),
                 "--epochs", "1", "--max-length", "32", "--top-layers", "1", "--quiet"]) == 0
    assert main(["ner", "train", "--train", str(data), "--dev", str(data), "--output", str(tmp_path / "more"),
                 "--init", str(first), "--epochs", "1", "--quiet"]) == 0
    continued = json.loads((tmp_path / "more" / "training.json").read_text())
    assert continued["training_config"]["initialised_from"] == str(first)
    assert json.loads((tmp_path / "more" / "config.json").read_text())["adapter"] == json.loads((first / "config.json").read_text())["adapter"]
    narrower = tmp_path / "narrower"
    model, tokenizer = initialise_ner(str(tiny_bert_dir), ["person"], 32, seed=1)
    model.save_pretrained(narrower, tokenizer)
    with pytest.raises(ValueError, match="entity_types this model does not output: location, organisation"):
        main(["ner", "train", "--train", str(data), "--output", str(tmp_path / "x"), "--init", str(narrower), "--epochs", "1", "--quiet"])
