from pathlib import Path

from polyrel.pipeline.incremental import run_settings
from polyrel.pipeline.options import RunOptions


def test_every_setting_that_shapes_triples_is_recorded(tiny_relation_model_dir: Path, tmp_path: Path) -> None:
    """A changed setting must reprocess every document, so each one has to show in the settings."""
    base = RunOptions(model=str(tiny_relation_model_dir), ner="polyrel", ner_model=str(tiny_relation_model_dir))
    settings = run_settings(base)
    assert run_settings(RunOptions(model=str(tiny_relation_model_dir), ner="polyrel",
                                   ner_model=str(tiny_relation_model_dir))) == settings
    assert run_settings(RunOptions(model=base.model, ner="polyrel", ner_model=base.ner_model, cjk_words="characters")) != settings
    assert run_settings(RunOptions(model=base.model, ner="polyrel", ner_model=base.ner_model, lang="de")) != settings

    other_ner = tmp_path / "ner"
    other_ner.mkdir()
    (other_ner / "config.json").write_text("{}")
    assert run_settings(RunOptions(model=base.model, ner="polyrel", ner_model=str(other_ner))) != settings
    given = run_settings(RunOptions(model=base.model, ner="given", ner_model=str(other_ner)))
    assert given["ner_model"] is None  # no NER model is used with given entities
