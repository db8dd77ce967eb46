import json

import pytest
import torch
from safetensors.torch import load_file

from polyrel.model.relation.training import RelationTask, collect_inventory, initialise_model
from polyrel.model.training.trainer import CHECKPOINT, Trainer, TrainingConfig
from tests.model.relation.test_training import toy_sentences

CONFIG = TrainingConfig(epochs=3, batch_size=8, learning_rate=1e-3, neg_ratio=1.0, freeze_embeddings=True, patience=3,
                        seed=5, progress=False)


class Interrupted(Exception):
    pass


def fresh(tiny_bert_dir, config=CONFIG):
    sentences = toy_sentences()
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, "etm", "emp", "extract", 32, pairs, seed=3)
    return Trainer(model, tokenizer, config, device="cpu"), RelationTask(model, tokenizer, sentences, sentences, config)


def interrupt_at_epoch(task, epoch, monkeypatch):
    """The run dies while scoring dev after `epoch`, as a killed process would."""
    evaluate, calls = task.evaluate, []

    def evaluate_or_die(*args):
        calls.append(1)
        if len(calls) == epoch:
            raise Interrupted
        return evaluate(*args)

    monkeypatch.setattr(task, "evaluate", evaluate_or_die)


def test_resumed_training_ends_like_an_uninterrupted_run(tiny_bert_dir, tmp_path, monkeypatch):
    trainer, task = fresh(tiny_bert_dir)
    straight = trainer.fit(task, tmp_path / "straight")

    trainer, task = fresh(tiny_bert_dir)
    interrupt_at_epoch(task, 3, monkeypatch)
    with pytest.raises(Interrupted):
        trainer.fit(task, tmp_path / "resumed", resume=True)
    assert (tmp_path / "resumed" / CHECKPOINT).is_file()

    trainer, task = fresh(tiny_bert_dir)  # a new process: nothing carried over but the directory
    resumed = trainer.fit(task, tmp_path / "resumed", resume=True)
    assert resumed.resumed_after_epoch == 2 and straight.resumed_after_epoch == 0
    assert resumed.history == straight.history and len(straight.history) == 3
    assert (resumed.best_epoch, resumed.best_dev_f1) == (straight.best_epoch, straight.best_dev_f1)
    a, b = (load_file(tmp_path / run / "model.safetensors") for run in ("straight", "resumed"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not (tmp_path / "resumed" / CHECKPOINT).exists()


def test_a_run_stopped_after_an_epoch_resumes_to_the_same_end(tiny_bert_dir, tmp_path):
    trainer, task = fresh(tiny_bert_dir)
    straight = trainer.fit(task, tmp_path / "straight")
    trainer, task = fresh(tiny_bert_dir)
    stopped = trainer.fit(task, tmp_path / "staged", stop_after=1)
    assert len(stopped.history) == 1 and (tmp_path / "staged" / CHECKPOINT).is_file()
    trainer, task = fresh(tiny_bert_dir)
    resumed = trainer.fit(task, tmp_path / "staged", resume=True)
    assert resumed.history == straight.history and not (tmp_path / "staged" / CHECKPOINT).exists()


def test_without_resume_an_old_checkpoint_is_ignored(tiny_bert_dir, tmp_path, monkeypatch):
    trainer, task = fresh(tiny_bert_dir)
    interrupt_at_epoch(task, 2, monkeypatch)
    with pytest.raises(Interrupted):
        trainer.fit(task, tmp_path)
    trainer, task = fresh(tiny_bert_dir)
    result = trainer.fit(task, tmp_path)
    assert result.resumed_after_epoch == 0 and len(result.history) == 3


def test_resuming_with_other_settings_is_refused(tiny_bert_dir, tmp_path, monkeypatch):
    trainer, task = fresh(tiny_bert_dir)
    interrupt_at_epoch(task, 2, monkeypatch)
    with pytest.raises(Interrupted):
        trainer.fit(task, tmp_path)
    other = TrainingConfig(**{**CONFIG.__dict__, "learning_rate": 5e-4})
    trainer, task = fresh(tiny_bert_dir, other)
    with pytest.raises(ValueError, match="learning_rate"):
        trainer.fit(task, tmp_path, resume=True)


def test_a_checkpoint_from_before_shared_passes_resumes_without_them(tiny_bert_dir, tmp_path, monkeypatch):
    """Checkpoints written before the setting existed trained one encoder row per pair."""
    trainer, task = fresh(tiny_bert_dir)
    interrupt_at_epoch(task, 2, monkeypatch)
    with pytest.raises(Interrupted):
        trainer.fit(task, tmp_path)
    saved = json.loads((tmp_path / CHECKPOINT).read_text())
    del saved["config"]["share_encoder_passes"]
    (tmp_path / CHECKPOINT).write_text(json.dumps(saved))

    trainer, task = fresh(tiny_bert_dir)
    with pytest.raises(ValueError, match="share_encoder_passes"):
        trainer.fit(task, tmp_path, resume=True)
    unshared = TrainingConfig(**{**CONFIG.__dict__, "share_encoder_passes": False})
    trainer, task = fresh(tiny_bert_dir, unshared)
    assert trainer.fit(task, tmp_path, resume=True).resumed_after_epoch == 1


def test_a_checkpoint_is_data_and_a_mismatched_pair_is_refused(tiny_bert_dir, tmp_path, monkeypatch):
    trainer, task = fresh(tiny_bert_dir)
    interrupt_at_epoch(task, 3, monkeypatch)
    with pytest.raises(Interrupted):
        trainer.fit(task, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("checkpoint*")) == ["checkpoint.json", "checkpoint.safetensors"]
    saved = json.loads((tmp_path / CHECKPOINT).read_text())
    (tmp_path / CHECKPOINT).write_text(json.dumps({**saved, "epoch": "1"}))  # the tensors say epoch 2
    trainer, task = fresh(tiny_bert_dir)
    with pytest.raises(ValueError, match="delete both"):
        trainer.fit(task, tmp_path, resume=True)


def classify_run(tiny_bert_dir, dev_scores, monkeypatch, epochs=5, min_epochs=0):
    """A classify run whose dev scores, epoch by epoch, are `dev_scores(floor)` for the toy data's floor."""
    sentences = toy_sentences()
    labels, types, pairs = collect_inventory(sentences)
    model, tokenizer = initialise_model(str(tiny_bert_dir), labels, types, "etm", "es", "classify", 32, pairs, seed=3,
                                        classify_output="softmax")
    config = TrainingConfig(epochs=epochs, batch_size=8, patience=1, min_epochs=min_epochs, seed=5, progress=False)
    task = RelationTask(model, tokenizer, sentences, sentences, config)
    scores = iter(dev_scores(task.selection_floor))
    monkeypatch.setattr(task, "evaluate", lambda model, device: {"dev_macro_f1": next(scores)})
    return Trainer(model, tokenizer, config, device="cpu"), task


@pytest.mark.parametrize("dev_scores,epochs_run,best_epoch", [
    # on the plateau of one label for every pair, worse epochs do not count against patience
    (lambda floor: [floor, floor - 0.05, floor, floor + 0.1, floor + 0.05], 5, 4),
    # above it they do: patience 1 stops after the first epoch that does not improve
    (lambda floor: [floor + 0.1, floor + 0.05, floor + 0.2, floor + 0.3, floor + 0.4], 2, 1),
])
def test_patience_starts_once_dev_leaves_the_untrained_plateau(tiny_bert_dir, tmp_path, monkeypatch, dev_scores, epochs_run, best_epoch):
    trainer, task = classify_run(tiny_bert_dir, dev_scores, monkeypatch)
    result = trainer.fit(task, tmp_path)
    assert (len(result.history), result.best_epoch) == (epochs_run, best_epoch)


def test_early_stopping_waits_for_the_minimum_epochs(tiny_bert_dir, tmp_path, monkeypatch):
    trainer, task = classify_run(tiny_bert_dir, lambda floor: [floor + 0.3, floor + 0.1, floor + 0.1, floor + 0.2, floor + 0.4],
                                 monkeypatch, min_epochs=4)
    result = trainer.fit(task, tmp_path)
    assert (len(result.history), result.best_epoch) == (4, 1)  # patience 1 ran out at epoch 2, the floor held it to 4
