import json
import random

import numpy as np
import pytest
import torch

from polyrel.cli import main
from polyrel.model.relation.predictor import RelationPredictor
from polyrel.model.relation.training import (
    RelationTask,
    build_instances,
    collect_inventory,
    evaluate_instances,
    initialise_model,
)
from polyrel.model.training.data import parse_polyrel, write_jsonl
from polyrel.model.training.trainer import Trainer, TrainingConfig

PEOPLE = ["anna", "maria", "john", "peter"]
COMPANIES = ["siemens", "sony", "acme"]
CITIES = ["berlin", "paris", "london", "tokyo", "madrid"]


def toy_sentences(n=20, seed=0):
    """Relations decided by entity types and order: learnable from markers alone."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        p, c, l = rng.choice(PEOPLE), rng.choice(COMPANIES), rng.choice(CITIES)
        if i % 2:
            tokens = [p, "works", "at", c, "in", l]
            ents = [(0, 1, "person"), (3, 4, "organisation"), (5, 6, "location")]
        else:
            tokens = [c, "said", "the", "president", p, "visited", l]
            ents = [(0, 1, "organisation"), (4, 5, "person"), (6, 7, "location")]
        idx = {etype: k for k, (_, _, etype) in enumerate(ents)}
        rels = [{"head": idx["person"], "tail": idx["organisation"], "labels": ["role"]},
                {"head": idx["organisation"], "tail": idx["location"], "labels": ["physical"]}]
        out.append(parse_polyrel({"id": f"s{i}", "lang": "en", "tokens": tokens, "relations": rels,
                                  "entities": [{"start": s, "end": e, "type": t} for s, e, t in ents]}))
    return out


@pytest.mark.parametrize("task,markers,pooling,output", [
    ("extract", "etm", "emp", "sigmoid"), ("classify", "etm", "es", "sigmoid"), ("classify", "etm", "emp", "softmax"),
])
def test_tiny_model_overfits_twenty_sentences(task, markers, pooling, output, tiny_bert_dir, tmp_path):
    sentences = toy_sentences()
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, markers, pooling, task, 32, pairs, seed=3,
                                        classify_output=output)
    config = TrainingConfig(epochs=40, learning_rate=3e-3, head_learning_rate=1e-2, batch_size=8, patience=40, seed=3, progress=False)
    result = Trainer(model, tokenizer, config, device="cpu").fit(RelationTask(model, tokenizer, sentences, sentences), tmp_path)
    assert result.best_dev_f1 == 1.0
    predictor = RelationPredictor.load(tmp_path, device="cpu")
    assert predictor.config.classify_output == output
    report = evaluate_instances(predictor, build_instances(sentences, predictor.encoder, task))
    assert report.micro_f1 == 1.0 and report.macro_f1 == 1.0
    n_pairs = 20 * 6 if task == "extract" else 20 * 2
    assert report.n_pairs == n_pairs
    saved = json.loads((tmp_path / "training.json").read_text())
    assert saved["result"]["best_epoch"] == result.best_epoch


def test_unordered_candidates_carry_direction_tagged_gold_and_score_as_ordered_pairs(tiny_bert_dir):
    from polyrel.model.relation.training import score_labels

    sentences = toy_sentences(4)
    labels, types, type_pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, max_length=32, type_pairs=type_pairs, pairs="unordered")
    assert model.config.output_labels == ("no_relation", "physical", "role", "physical(e2,e1)", "role(e2,e1)")
    instances = build_instances(sentences, model.config.pair_encoder(tokenizer), "extract", "unordered")
    assert len(instances) == 4 * 3 and all(i.head < i.tail for i in instances)  # entities listed in sentence order
    golds = {(i.sentence, i.head, i.tail): i.gold for i in instances}
    assert golds[(1, 0, 1)] == {"role"}  # "anna works at siemens": person first, role runs forward
    assert golds[(0, 0, 1)] == {"role(e2,e1)"}  # "siemens said ... anna": person second, role runs backward
    ordered = build_instances(sentences, model.config.pair_encoder(tokenizer), "extract")
    perfect = score_labels([i.gold for i in instances], [i.gold for i in instances], model.config)
    assert perfect.micro_f1 == 1.0 and perfect.n_pairs == len(ordered)
    assert sum(map(len, (i.gold for i in instances))) == sum(map(len, (i.gold for i in ordered)))
    flipped = [frozenset(g.replace("(e2,e1)", "") if "(e2,e1)" in g else g + "(e2,e1)" for g in i.gold) for i in instances]
    assert score_labels([i.gold for i in instances], flipped, model.config).micro_f1 == 0.0


def test_tiny_unordered_model_overfits_and_predict_writes_head_to_tail(tiny_bert_dir, tmp_path):
    sentences = toy_sentences()
    data = tmp_path / "train.jsonl"
    write_jsonl(sentences, str(data))
    model_dir = tmp_path / "model"
    assert main(["train", "--train", str(data), "--dev", str(data), "--output", str(model_dir), "--encoder", str(tiny_bert_dir),
                 "--pairs", "unordered", "--epochs", "40", "--lr", "3e-3", "--head-lr", "1e-2", "--batch-size", "8",
                 "--patience", "40", "--max-length", "32", "--seed", "3", "--quiet"]) == 0
    predictor = RelationPredictor.load(model_dir, device="cpu")
    assert predictor.config.pairs == "unordered"
    report = evaluate_instances(predictor, build_instances(sentences, predictor.encoder, "extract", "unordered"))
    assert report.micro_f1 == 1.0 and report.n_pairs == 20 * 6
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(model_dir), "--input", str(data), "--output", str(out)]) == 0
    written = [{(r["head"], r["tail"], r["label"]) for r in json.loads(line)["relations"]} for line in out.read_text().splitlines()]
    assert written == [{(r.head, r.tail, label) for r in s.relations for label in r.labels} for s in sentences]


def test_neg_sampling_and_frozen_embeddings_train_and_keep_vocab_frozen(tiny_bert_dir, tmp_path):
    sentences = toy_sentences()
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, "etm", "emp", "extract", 32, pairs, seed=3)
    frozen_row = model.encoder.get_input_embeddings().weight[5].clone()
    config = TrainingConfig(epochs=2, batch_size=8, freeze_embeddings=True, progress=False)
    trainer = Trainer(model, tokenizer, config, device="cpu")
    marker_before = trainer.frozen.rows.detach().clone()
    trainer.fit(RelationTask(model, tokenizer, sentences, None, TrainingConfig(neg_ratio=1.0)), tmp_path)
    reloaded = RelationPredictor.load(tmp_path, device="cpu", precision="fp32").model
    weights = reloaded.encoder.get_input_embeddings().weight
    assert (weights[5] == frozen_row).all()
    marker_ids = tokenizer.convert_tokens_to_ids(model.config.marker_inventory().tokens)
    assert not (weights[sorted(marker_ids)] == marker_before).all()


def test_cli_train_evaluate_predict(tiny_bert_dir, tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    write_jsonl(toy_sentences(), str(data))
    model_dir = tmp_path / "model"
    assert main(["train", "--train", str(data), "--dev", str(data), "--output", str(model_dir), "--encoder", str(tiny_bert_dir),
                 "--epochs", "1", "--max-length", "32", "--quiet"]) == 0
    report = tmp_path / "report.json"
    png = tmp_path / "cm.png"
    assert main(["evaluate", "--model", str(model_dir), "--data", str(data), "--report", str(report), "--confusion-png", str(png)]) == 0
    assert "micro P" in capsys.readouterr().out
    assert json.loads(report.read_text())["n_pairs"] == 120 and png.stat().st_size > 1000
    out = tmp_path / "pred.jsonl"
    assert main(["predict", "--model", str(model_dir), "--input", str(data), "--output", str(out), "--threshold", "0"]) == 0
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(rows) == 20
    for row in rows:  # threshold 0: every ordered pair of the three entities gets its best label
        assert sorted((r["head"], r["tail"]) for r in row["relations"]) == [(h, t) for h in range(3) for t in range(3) if h != t]
        assert all(set(r) == {"head", "tail", "label", "score"} and r["label"] != "no_relation" for r in row["relations"])


def test_cli_train_resumes_an_interrupted_run(tiny_bert_dir, tmp_path, monkeypatch, capsys):
    data = tmp_path / "train.jsonl"
    write_jsonl(toy_sentences(), str(data))
    args = ["train", "--train", str(data), "--dev", str(data), "--output", str(tmp_path / "model"), "--encoder",
            str(tiny_bert_dir), "--epochs", "2", "--max-length", "32", "--quiet"]
    evaluate = RelationTask.evaluate

    def killed_in_epoch_two(task, *rest):
        if task.evaluated:
            raise KeyboardInterrupt
        task.evaluated = True
        return evaluate(task, *rest)

    with monkeypatch.context() as patch:
        patch.setattr(RelationTask, "evaluated", False, raising=False)
        patch.setattr(RelationTask, "evaluate", killed_in_epoch_two)
        with pytest.raises(KeyboardInterrupt):
            main(args)
    assert main([*args, "--resume"]) == 0
    assert "(resumed after epoch 1)" in capsys.readouterr().out
    history = json.loads((tmp_path / "model" / "training.json").read_text())["result"]["history"]
    assert [h["epoch"] for h in history] == [1, 2]


def test_cli_train_records_whether_mirrors_shared_a_pass(tiny_bert_dir, tmp_path):
    data = tmp_path / "train.jsonl"
    write_jsonl(toy_sentences(4), str(data))
    for flags, shared in (([], True), (["--no-shared-passes"], False)):
        out = tmp_path / f"model-{shared}"
        assert main(["train", "--train", str(data), "--output", str(out), "--encoder", str(tiny_bert_dir),
                     "--epochs", "1", "--max-length", "32", "--quiet", *flags]) == 0
        assert json.loads((out / "training.json").read_text())["training_config"]["share_encoder_passes"] is shared


def test_frozen_encoder_trains_heads_on_cached_summaries(tiny_bert_dir, tmp_path):
    from polyrel.model.encoders.backbone import AdapterConfig

    sentences = toy_sentences()
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, "etm", "emp", "extract", 32, pairs, seed=3,
                                        adapter=AdapterConfig(r=0))
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    config = TrainingConfig(epochs=60, head_learning_rate=5e-2, batch_size=8, patience=60, progress=False)
    task = RelationTask(model, tokenizer, sentences, sentences)
    result = Trainer(model, tokenizer, config, device="cpu").fit(task, tmp_path)
    assert result.best_dev_f1 > 0.8
    assert all(torch.equal(v, encoder_before[k]) for k, v in model.encoder.state_dict().items())
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors", "training.json"}
    reloaded = RelationPredictor.load(tmp_path, device="cpu")
    report = evaluate_instances(reloaded, build_instances(sentences, reloaded.encoder, "extract"))
    assert report.micro_f1 == pytest.approx(result.best_dev_f1)


def test_top_layers_train_in_full_above_a_frozen_encoder_and_reload_from_a_compact_directory(tiny_bert_dir, tmp_path):
    from polyrel.model.encoders.backbone import AdapterConfig

    sentences = toy_sentences()
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, "etm", "emp", "extract", 32, pairs, seed=3,
                                        adapter=AdapterConfig(r=0, top_layers=1))
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    config = TrainingConfig(epochs=30, learning_rate=1e-3, head_learning_rate=5e-2, batch_size=8, patience=30, progress=False)
    task = RelationTask(model, tokenizer, sentences, sentences)
    assert not task.cached
    result = Trainer(model, tokenizer, config, device="cpu").fit(task, tmp_path)
    assert result.best_dev_f1 > 0.8
    changed = {k for k, v in model.encoder.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith("encoder.layer.1.") for k in changed)  # the tiny encoder has layers 0 and 1
    reloaded = RelationPredictor.load(tmp_path, device="cpu")
    report = evaluate_instances(reloaded, build_instances(sentences, reloaded.encoder, "extract"))
    assert report.micro_f1 == pytest.approx(result.best_dev_f1, abs=0.02)  # the layer is stored in half precision


def test_classify_targets_are_multi_hot_for_sigmoids_and_a_distribution_for_a_softmax():
    from polyrel.model.relation.modeling import RelationModelConfig
    from polyrel.model.relation.training import PairInstance, decode, targets

    pair = PairInstance(0, 0, 1, frozenset({"role", "named"}), None)
    for output, expected in (("sigmoid", [1.0, 0.0, 1.0]), ("softmax", [0.5, 0.0, 0.5])):
        config = RelationModelConfig(encoder="e", labels=("named", "physical", "role"), entity_types=("person",),
                                     task="classify", classify_output=output)
        assert targets([pair], config).tolist() == [expected]
        assert decode(np.array([[0.2, 0.3, 0.1]]), config) == [frozenset({"physical"})]  # nothing above 0.5: the top label
    with pytest.raises(ValueError, match="classify_output"):
        RelationModelConfig(encoder="e", labels=("a",), entity_types=("t",), task="classify", classify_output="tanh")


@pytest.mark.parametrize("markers,rows_shared", [("etm", 3), ("um", 6)])
def test_training_batches_share_rows_between_mirrors_with_the_same_gradients(markers, rows_shared, tiny_bert_dir):
    sentences = toy_sentences(1)  # three entities: six ordered pairs, three mirror couples
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, markers, "emp", "extract", 32, pairs, seed=3)
    model.eval()  # no dropout: sharing a row must change nothing else
    grads = {}
    for share in (True, False):
        task = RelationTask(model, tokenizer, sentences, None, TrainingConfig(share_encoder_passes=share))
        inputs, gold = task.batch(task.instances)
        assert len(inputs["input_ids"]) == (rows_shared if share else 6)
        model.zero_grad()
        task.loss(model(**inputs), gold).backward()
        grads[share] = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    assert torch.allclose(grads[True], grads[False], atol=1e-6)


def test_shared_passes_put_a_sampled_pair_in_its_mirrors_batch(tiny_bert_dir):
    from polyrel.model.batching import length_batches

    sentences = toy_sentences(8)
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, "etm", "emp", "extract", 32, pairs, seed=3)
    epochs, rows = {}, {}
    for share in (True, False):
        task = RelationTask(model, tokenizer, sentences, None, TrainingConfig(neg_ratio=1.0, share_encoder_passes=share))
        items = task.epoch_items(random.Random(5))  # positives first, then sampled "no relation" pairs
        batches = length_batches([task.length(i) for i in items], 4)
        epochs[share] = sorted((i.sentence, i.head, i.tail) for i in items)
        rows[share] = sum(len(task.batch([items[k] for k in batch])[0]["input_ids"]) for batch in batches)
        distinct = len({i.encoded.input_ids for i in items})
    assert epochs[True] == epochs[False]  # the same epoch, ordered differently
    # a batch boundary splits at most one pair from its mirror
    assert distinct <= rows[True] <= distinct + len(batches) - 1 < rows[False]


@pytest.mark.parametrize("task,floor", [("classify", 1 / 3), ("extract", 0.0)])
def test_the_dev_floor_is_the_best_one_label_constant_in_classify_mode(task, floor, tiny_bert_dir):
    sentences = toy_sentences()  # every sentence: one role and one physical pair
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, "etm", "es", task, 32, pairs, seed=3)
    # "role" for every gold pair: role F1 2/3, physical 0; extract's untrained model writes "no relation": 0
    assert RelationTask(model, tokenizer, sentences, sentences).selection_floor == pytest.approx(floor)
