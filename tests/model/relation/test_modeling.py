import json
import shutil

import numpy as np
import pytest
import torch

from polyrel.model.encoders.backbone import ModelDirectoryError
from polyrel.model.relation.modeling import Pooler, RelationModel
from polyrel.model.relation.predictor import PairQuery, RelationPredictor
from polyrel.model.relation.training import initialise_model
from polyrel.schemas.records import Entity

QUERIES = [
    PairQuery(tuple("anna works at siemens in berlin".split()), Entity.over_tokens(0, 1, "person"), Entity.over_tokens(3, 4, "organisation")),
    PairQuery(tuple("sony is in tokyo".split()), Entity.over_tokens(0, 1, "organisation"), Entity.over_tokens(3, 4, "location")),
    PairQuery(tuple("sony is in tokyo".split()), Entity.over_tokens(3, 4, "location"), Entity.over_tokens(0, 1, "spaceship")),
]


@pytest.mark.parametrize("family", ["tiny_bert_dir", "tiny_xlmr_dir"])
@pytest.mark.parametrize("markers,pooling,task", [("etm", "emp", "extract"), ("um", "es+type", "classify"), ("um", "ss", "extract")])
def test_save_load_gives_identical_logits(family, markers, pooling, task, request, tmp_path):
    model, tokenizer = initialise_model(
        str(request.getfixturevalue(family)), ("role", "physical"), ("person", "organisation", "location"),
        markers, pooling, task, max_length=32, seed=1,
    )
    model.eval()
    before = RelationPredictor(model, model.config.pair_encoder(tokenizer), "cpu")
    expected = before.probabilities([before.encode(q) for q in QUERIES])
    model.save_pretrained(tmp_path, tokenizer)
    loaded = RelationPredictor.load(tmp_path, device="cpu", precision="fp32")
    assert loaded.config == model.config
    assert torch.allclose(torch.tensor(loaded.probabilities([loaded.encode(q) for q in QUERIES])), torch.tensor(expected), atol=1e-6)
    assert loaded.encoder.markers.unseen_types == ({"spaceship": 1} if markers == "etm" else {})


def test_new_models_read_cjk_as_written_and_older_directories_load_as_trained(tiny_relation_model_dir, tmp_path):
    assert RelationPredictor.load(tiny_relation_model_dir, device="cpu").encoder.word_joining == "as_written"
    older = shutil.copytree(tiny_relation_model_dir, tmp_path / "m")
    config = json.loads((older / "config.json").read_text())
    del config["word_joining"]
    (older / "config.json").write_text(json.dumps(config))
    assert RelationPredictor.load(older, device="cpu").encoder.word_joining == "spaced"


def test_missing_tokenizer_refused(tiny_relation_model_dir, tmp_path):
    broken = shutil.copytree(tiny_relation_model_dir, tmp_path / "m")
    for f in broken.glob("tokenizer*"):
        f.unlink()
    with pytest.raises(ModelDirectoryError, match="tokenizer"):
        RelationModel.from_pretrained(broken)


def test_label_count_mismatch_refused(tiny_relation_model_dir, tmp_path):
    broken = shutil.copytree(tiny_relation_model_dir, tmp_path / "m")
    config = json.loads((broken / "config.json").read_text())
    config["labels"] = config["labels"][:-1]
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirectoryError, match="classifier has 6 outputs but config.json lists 5"):
        RelationModel.from_pretrained(broken)


def test_missing_weights_refused(tiny_relation_model_dir, tmp_path):
    broken = shutil.copytree(tiny_relation_model_dir, tmp_path / "m")
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelDirectoryError, match="missing model.safetensors"):
        RelationModel.from_pretrained(broken)


def test_directory_holds_no_pickle(tiny_relation_model_dir):
    names = {p.name for p in tiny_relation_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in names)


@pytest.mark.parametrize("markers,pooling,passes", [("etm", "emp", 1), ("etm", "es", 1), ("etm", "ss", 1), ("um", "emp", 2)])
def test_mirrored_pairs_share_one_encoder_pass_and_score_as_alone(tiny_bert_dir, markers, pooling, passes):
    model, tokenizer = initialise_model(
        str(tiny_bert_dir), ("role", "physical"), ("person", "organisation"), markers, pooling, "extract", max_length=32, seed=3,
    )
    model.eval()
    predictor = RelationPredictor(model, model.config.pair_encoder(tokenizer), "cpu")
    words = tuple("anna works at siemens in berlin".split())
    anna, siemens = Entity.over_tokens(0, 1, "person"), Entity.over_tokens(3, 4, "organisation")
    pairs = [predictor.encode(PairQuery(words, anna, siemens)), predictor.encode(PairQuery(words, siemens, anna))]
    rows: list[int] = []
    hook = model.encoder.register_forward_hook(lambda module, args, kwargs, out: rows.append(len(kwargs["input_ids"])), with_kwargs=True)
    together = predictor.probabilities(pairs)
    hook.remove()
    assert sum(rows) == passes
    alone = [predictor.probabilities([p])[0] for p in pairs]
    assert np.allclose(together, np.stack(alone), atol=1e-6)
    # direction tells the pairs apart through the order of the pooled entities; SS pools neither
    assert np.allclose(together[0], together[1]) == (pooling == "ss")


# batch 1, length 6, hidden 2: rows chosen so each pooling picks distinct values
HIDDEN = torch.tensor([[[0.0, 9.0], [1.0, -1.0], [5.0, 0.0], [2.0, 3.0], [-1.0, 4.0], [7.0, -2.0]]])
HEAD = torch.tensor([[1, 3]])
TAIL = torch.tensor([[4, 5]])
TYPES = torch.tensor([0])


def pool(method, **kw):
    return Pooler(method, 2, **kw)(HIDDEN, HEAD, TAIL, TYPES, TYPES)


def test_ss_is_first_token():
    assert pool("ss").tolist() == [[0.0, 9.0]]


def test_es_concatenates_start_markers_head_first():
    assert pool("es").tolist() == [[1.0, -1.0, -1.0, 4.0]]


def test_emp_is_elementwise_max_over_marker_to_marker():
    # head rows 1..3: max(1,5,2)=5, max(-1,0,3)=3 ; tail rows 4..5: max(-1,7)=7, max(4,-2)=4
    assert pool("emp").tolist() == [[5.0, 3.0, 7.0, 4.0]]


def test_es_type_appends_type_embeddings():
    pooler = Pooler("es+type", 2, n_entity_types=3, type_dim=4)
    out = pooler(HIDDEN, HEAD, TAIL, torch.tensor([1]), torch.tensor([2]))
    expected = torch.cat([HIDDEN[0, 1], HIDDEN[0, 4], pooler.type_embedding.weight[1], pooler.type_embedding.weight[2]])
    assert torch.equal(out[0], expected)
    assert pooler.output_size == 12


def test_emp_ignores_padding_beyond_span():
    hidden = torch.cat([HIDDEN, torch.full((1, 2, 2), 100.0)], dim=1)
    out = Pooler("emp", 2)(hidden, HEAD, TAIL, TYPES, TYPES)
    assert out.tolist() == [[5.0, 3.0, 7.0, 4.0]]


def test_unknown_pooling_rejected():
    with pytest.raises(ValueError, match="unknown pooling"):
        Pooler("mean", 2)
