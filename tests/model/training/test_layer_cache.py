import pytest
import torch

from polyrel.model.encoders.backbone import AdapterConfig
from polyrel.model.relation.predictor import RelationPredictor
from polyrel.model.relation.training import (
    RelationTask,
    build_instances,
    collect_inventory,
    evaluate_instances,
    initialise_model,
)
from polyrel.model.training.layer_cache import LowerLayerCache
from polyrel.model.training.trainer import Trainer, TrainingConfig
from tests.model.relation.test_training import toy_sentences


def top_layer_model(tiny_bert_dir, top_layers=1):
    sentences = toy_sentences()
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, "etm", "emp", "extract", 32, pairs, seed=3,
                                        adapter=AdapterConfig(r=0, top_layers=top_layers))
    return sentences, model, tokenizer


def test_top_layers_over_cached_lower_states_equal_the_full_pass(tiny_bert_dir):
    _, model, _ = top_layer_model(tiny_bert_dir)
    model.eval()
    ids = torch.randint(5, 40, (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    cache = LowerLayerCache(model, precision="fp32")
    with torch.no_grad():
        full = model.hidden_states(mask, input_ids=ids)
        split = model.hidden_states(mask, lower_hidden=cache.hidden(ids, mask))
    assert torch.allclose(full[mask.bool()], split[mask.bool()], atol=1e-2)  # the cache stores bf16
    assert len(cache.states) == 3 and cache.bytes > 0


def test_lower_states_exist_only_when_nothing_below_the_top_layers_trains(tiny_bert_dir):
    sentences = toy_sentences()
    labels, types, _ = collect_inventory(sentences)
    model, _ = initialise_model(str(tiny_bert_dir), labels, types, adapter=AdapterConfig(r=4, top_layers=1))
    with pytest.raises(ValueError, match="top layers alone"):
        model.lower_hidden(torch.ones(1, 3, dtype=torch.long), torch.ones(1, 3, dtype=torch.long))


def test_training_on_cached_lower_states_learns_and_reloads(tiny_bert_dir, tmp_path):
    sentences, model, tokenizer = top_layer_model(tiny_bert_dir)
    config = TrainingConfig(epochs=30, learning_rate=1e-3, head_learning_rate=5e-2, batch_size=8, patience=30,
                            progress=False, precision="fp32")
    task = RelationTask(model, tokenizer, sentences, sentences, config)
    assert task.lower is not None
    result = Trainer(model, tokenizer, config, device="cpu").fit(task, tmp_path)
    assert result.best_dev_f1 > 0.8
    reloaded = RelationPredictor.load(tmp_path, device="cpu")  # scores with the full encoder pass
    report = evaluate_instances(reloaded, build_instances(sentences, reloaded.encoder, "extract"))
    assert report.micro_f1 == pytest.approx(result.best_dev_f1, abs=0.05)


def test_language_fraction_samples_other_languages_each_epoch(tiny_bert_dir):
    import random
    from dataclasses import replace

    sentences, model, tokenizer = top_layer_model(tiny_bert_dir)
    sentences[10:] = [replace(s, lang="de") for s in sentences[10:]]
    config = TrainingConfig(language_fraction=0.2, progress=False)
    task = RelationTask(model, tokenizer, sentences, None, config)
    items = task.epoch_items(random.Random(0))
    german = {i.sentence for i in items if i.sentence >= 10}
    assert {i.sentence for i in items if i.sentence < 10} == set(range(10)) and len(german) == 2
