"""The accuracy grid on real CrossRE sentences with a tiny encoder: cells are cached and
skipped, a kept model is scored on a test language that arrives later, and the report
builds its tables from whatever cells exist and names the missing ones."""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.accuracy import report, run
from benchmarks.accuracy.grid import JOINT_DOMAIN, cells
from tests.conftest import CROSSRE

pytestmark = pytest.mark.skipif(not (CROSSRE / "en" / "news-train.json.gz").is_file(), reason="CrossRE data not found")


def link(data: Path, language: str, splits: tuple[str, ...], domain: str = "news") -> None:
    (data / language).mkdir(parents=True, exist_ok=True)
    for split in splits:
        (data / language / f"{domain}-{split}.json.gz").symlink_to(CROSSRE / language / f"{domain}-{split}.json.gz")


def grid(data: Path, out: Path, encoder: Path, *experiments: str, extra: tuple[str, ...] = ()) -> list[str]:
    args = ["--data", str(data), "--out", str(out / "results"), "--models", str(out / "models"), "--encoder", str(encoder),
            "--experiments", *experiments, "--seeds", "1", "--profile", "smoke", *extra]
    assert run.main(args) == 0
    return sorted(p.name for p in (out / "results" / "cells").glob("*.json"))


def test_grid_caches_cells_and_scores_late_test_languages(tiny_xlmr_dir: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    link(data, "en", ("train", "dev", "test"))
    link(data, "german", ("train", "dev"))  # no German test set yet

    names = grid(data, tmp_path, tiny_xlmr_dir, "variants", "supervised")
    # 7 English variants and the German supervised model; the other languages have no training data here
    assert len(names) == 8 and "supervised__etm-emp__extract__german__all__smoke__s1.json" in names
    assert "no training data for supervised__etm-emp__extract__spanish__all__smoke__s1" in capsys.readouterr().out
    cell = tmp_path / "results" / "cells" / "variants__etm-emp__extract__en__all__smoke__s1.json"
    record = json.loads(cell.read_text())
    assert record["cell"]["markers"] == "etm" and record["cell"]["pooling"] == "emp"
    assert record["profile"]["name"] == "smoke" and record["train_pairs"] > 0 and record["history"]
    assert record["dev_floor"] == 0.0  # extract: "no relation" everywhere finds nothing
    model_config = json.loads((tmp_path / "models" / cell.stem / "config.json").read_text())
    assert model_config["word_joining"] == record["profile"]["word_joining"] == "spaced"  # as the profile says
    assert sorted(record["evaluations"]) == ["en"]
    assert 0.0 <= record["evaluations"]["en"]["micro_f1"] <= 1.0
    assert json.loads((tmp_path / "results" / "cells" / "variants__um-ss__extract__en__all__smoke__s1.json")
                      .read_text())["cell"]["evaluate_on"] == ["en"]

    # The German test set arrives: transfer cells are scored from their kept models, nothing is retrained.
    link(data, "german", ("test",))
    assert grid(data, tmp_path, tiny_xlmr_dir, "variants", "supervised") == names
    rescored = json.loads(cell.read_text())
    assert sorted(rescored["evaluations"]) == ["en", "german"]
    assert rescored["train_seconds"] == record["train_seconds"] and rescored["history"] == record["history"]
    assert "german" not in json.loads((tmp_path / "results" / "cells" / "variants__um-ss__extract__en__all__smoke__s1.json")
                                      .read_text())["evaluations"]  # not a transfer variant

    assert report.main(["--out", str(tmp_path / "results"), "--profile", "smoke", "--seeds", "1"]) == 0
    text = (tmp_path / "results" / "RESULTS.md").read_text()
    assert "| ETM-EMP |" in text and "(n=1)" in text
    assert "joint__etm-emp__extract__joint11__all__smoke__s1" in text.split("### Missing cells")[1]
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert summary


def test_a_cell_cut_off_while_scoring_keeps_its_training_and_finished_languages(
        tiny_xlmr_dir: Path, tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    link(data, "en", ("train", "dev", "test"))
    link(data, "german", ("test",))
    summarise, scored = run.report_summary, []

    def killed_on_second_language(report):
        if scored:
            raise RuntimeError("killed")
        scored.append(1)
        return summarise(report)

    monkeypatch.setattr(run, "report_summary", killed_on_second_language)
    cell = tmp_path / "results" / "cells" / "variants__etm-emp__extract__en__all__smoke__s1.json"
    target = next(c for c in cells(["variants"], [1], "smoke") if c.id == cell.stem)  # run here, so the patch applies
    with pytest.raises(RuntimeError, match="killed"):
        run.run_cell(target, data, tmp_path / "results", tmp_path / "models", str(tiny_xlmr_dir))
    first = json.loads(cell.read_text())
    assert sorted(first["evaluations"]) == ["en"] and first["history"]
    assert any("not yet scored on german" in m for m in report.missing([first], [1], "smoke"))

    monkeypatch.undo()
    assert run.run_cell(target, data, tmp_path / "results", tmp_path / "models", str(tiny_xlmr_dir)) == \
        f"scored {target.id} on ['german']"
    second = json.loads(cell.read_text())
    assert sorted(second["evaluations"]) == ["en", "german"] and second["history"] == first["history"]
    assert second["train_seconds"] == first["train_seconds"] and second["evaluations"]["german"]["seconds"] > 0


def test_a_partly_scored_cell_whose_model_is_gone_is_trained_again_only_when_asked(
        tiny_xlmr_dir: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    link(data, "en", ("train", "dev", "test"))
    cell = tmp_path / "results" / "cells" / "variants__etm-emp__extract__en__all__smoke__s1.json"
    grid(data, tmp_path, tiny_xlmr_dir, "variants")
    first = json.loads(cell.read_text())
    link(data, "german", ("test",))
    shutil.rmtree(tmp_path / "models")  # another machine: the models stayed where they were trained

    capsys.readouterr()
    grid(data, tmp_path, tiny_xlmr_dir, "variants")
    assert "7 cells, 7 done" in capsys.readouterr().out
    assert json.loads(cell.read_text()) == first  # nothing to score it with: left as it was

    grid(data, tmp_path, tiny_xlmr_dir, "variants", extra=("--retrain-partial",))
    out = capsys.readouterr().out
    assert "7 cells, 4 done" in out  # the three transfer variants lack German; English-only cells lack nothing
    retrained = json.loads(cell.read_text())
    assert sorted(retrained["evaluations"]) == ["en", "german"] and f"done {cell.stem}" in out


def test_domain_cells_can_be_limited_to_some_domains(tiny_xlmr_dir: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    link(data, "en", ("train", "dev", "test"))
    names = grid(data, tmp_path, tiny_xlmr_dir, "domains", "variants", extra=("--domains", "news"))
    out = capsys.readouterr().out
    assert out.startswith("9 cells, 0 done")  # 7 variants (all domains) + ETM-ES and ETM-EMP on news
    assert "politics" not in out and "no training data" not in out
    assert "domains__etm-emp__classify__en__news__smoke__s1.json" in names and len(names) == 9


def test_cells_can_be_limited_to_some_variants(tiny_xlmr_dir: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    link(data, "en", ("train", "dev", "test"))
    names = grid(data, tmp_path, tiny_xlmr_dir, "variants", extra=("--variants", "etm-emp", "um-es+type"))
    assert capsys.readouterr().out.startswith("2 cells, 0 done")
    assert names == ["variants__etm-emp__extract__en__all__smoke__s1.json", "variants__um-es_type__extract__en__all__smoke__s1.json"]


def test_a_joint_cell_trains_the_profiles_joint_epochs_and_its_equal_epochs_twin_the_profiles_epochs(
        tiny_xlmr_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    link(data, "en", ("train", "dev", "test"))
    link(data, "german", ("train", "dev"))
    monkeypatch.setitem(run.PROFILES, "smoke", dataclasses.replace(run.PROFILES["smoke"], epochs=2, joint_epochs=1))
    grid(data, tmp_path, tiny_xlmr_dir, "joint", "supervised")
    joint = json.loads((tmp_path / "results" / "cells" / "joint__etm-emp__extract__joint11__all__smoke__s1.json").read_text())
    german = json.loads((tmp_path / "results" / "cells" / "supervised__etm-emp__extract__german__all__smoke__s1.json").read_text())
    assert (joint["epochs"], len(joint["history"])) == (1, 1)
    assert (german["epochs"], len(german["history"])) == (2, 2)

    assert report.main(["--out", str(tmp_path / "results"), "--profile", "smoke", "--seeds", "1"]) == 0
    text = (tmp_path / "results" / "RESULTS.md").read_text()
    assert "| one model per language (epochs —) | joint (en + 10 translations; 1 epoch) |\n" in text
    # no English ETM-EMP cell and no German test set here; the one-pass caveat reads German's epochs
    assert "- **Joint beats one model per language** — not measured: en: joint vs one model not measured;" in text
    assert "The joint cells trained 1 epoch against the others' 2 epochs" in text

    names = grid(data, tmp_path, tiny_xlmr_dir, "joint-equal-epochs", "variants", extra=("--variants", "etm-emp"))
    name = "joint-equal-epochs__etm-emp__extract__joint11__all__smoke__s1.json"
    assert name in names
    equal = json.loads((tmp_path / "results" / "cells" / name).read_text())
    assert (equal["epochs"], len(equal["history"]), sorted(equal["evaluations"])) == (2, 2, ["en"])
    assert report.main(["--out", str(tmp_path / "results"), "--profile", "smoke", "--seeds", "1"]) == 0
    text = (tmp_path / "results" / "RESULTS.md").read_text()
    assert ("| one model per language (2 epochs) | joint (en + 10 translations; 1 epoch) |"
            " joint (en + 10 translations; 2 epochs) |\n| --- | --- | --- | --- |") in text
    finding = next(line for line in text.splitlines() if line.startswith("- **Joint beats"))
    en = f"en: joint {100 * equal['evaluations']['en']['micro_f1']:.1f} vs one model"
    assert en in finding and "The joint cells trained" not in finding  # the equal-epochs joint, no budget caveat


def test_a_joint_domain_cell_trains_as_many_epochs_as_the_one_per_language_cells(
        tiny_xlmr_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    data = tmp_path / "data"
    for language in ("en", "german"):
        link(data, language, ("train", "dev", "test"), domain=JOINT_DOMAIN)
    monkeypatch.setitem(run.PROFILES, "smoke", dataclasses.replace(run.PROFILES["smoke"], epochs=2, joint_epochs=1))
    names = grid(data, tmp_path, tiny_xlmr_dir, "joint-domain")
    # the joint model, one per test language, and an English one given the joint's optimizer steps
    assert capsys.readouterr().out.startswith("7 cells, 0 done")
    assert names == ["domains__etm-es__classify__en__literature__smoke__s1.json",
                     "domains__etm-es__classify__german__literature__smoke__s1.json",
                     "joint-domain-steps__etm-es__classify__en__literature__smoke__s1.json",
                     "joint-domain__etm-es__classify__joint5__literature__smoke__s1.json"]
    _, german, steps, joint = [json.loads((tmp_path / "results" / "cells" / name).read_text()) for name in names]
    assert [(r["epochs"], len(r["history"])) for r in (german, joint)] == [(2, 2)] * 2  # joint_epochs is the extract joint's
    assert steps["epochs"] == 2 * 5 and 2 <= len(steps["history"]) <= 10  # early stopping may end it sooner
    assert sorted(joint["evaluations"]) == sorted(steps["evaluations"]) == ["en", "german"]
    assert sorted(german["evaluations"]) == ["german"]
    assert all(0.0 < r["dev_floor"] < 1.0 for r in (german, steps, joint))  # classify: one label for every pair scores

    assert report.main(["--out", str(tmp_path / "results"), "--profile", "smoke", "--seeds", "1",
                        "--experiments", "joint-domain"]) == 0
    text = (tmp_path / "results" / "RESULTS.md").read_text()
    assert ("| one model per language (2 epochs) | joint (en, german, spanish, chinese, japanese; 2 epochs) |"
            " English only, the joint's optimizer steps (10 epochs) |") in text
    assert "Joint beats one model per language at equal epochs — on micro-F1 " in text
    assert "- domains__etm-es__classify__spanish__literature__smoke__s1" in text.split("### Missing cells")[1]
    assert "variants__" not in text.split("### Missing cells")[1]  # only the experiments asked for


def test_joint_at_equal_epochs_gives_a_verdict_per_metric() -> None:
    def record(experiment: str, train: list[str], seed: int, scores: dict[str, tuple[float, float]]) -> dict:
        cell = {"experiment": experiment, "markers": "etm", "pooling": "es", "task": "classify", "train": train,
                "domain": JOINT_DOMAIN, "seed": seed}
        return {"cell": cell, "profile": {"epochs": 5}, "epochs": 5,
                "evaluations": {t: {"micro_f1": micro, "macro_f1": macro} for t, (micro, macro) in scores.items()}}

    languages = ["en", "german", "spanish", "chinese", "japanese"]
    records = [record("domains", [t], seed, {t: (0.30, 0.20)}) for t in languages for seed in (1, 2, 3)]
    records += [record("joint-domain", languages, seed, {t: (0.35, 0.10 if t == "en" else 0.25) for t in languages})
                for seed in (1, 2, 3)]
    lines, held = report.joint_at_equal_epochs(report.Grid(records))
    assert held == {"micro_f1": True, "macro_f1": False}
    assert "| german | 30.0 ± 0.0 (n=3) / 20.0 ± 0.0 (n=3) | 35.0 ± 0.0 (n=3) / 25.0 ± 0.0 (n=3) |" in lines
    assert "on micro-F1 holds (en: joint 35.0 vs one model 30.0 (seeds 1, 2, 3, paired; ahead in 3 of 3);" in lines[-1]
    assert "on macro-F1 mixed (4 of 5) (en: joint 10.0 vs one model 20.0 (seeds 1, 2, 3, paired; ahead in 0 of 3);" in lines[-1]

    text, summary = report.tables(report.Grid(records))
    assert "### Joint vs one model per language at equal epochs" in text and "optimizer steps" not in text
    assert summary["joint_beats_one_model_at_equal_epochs"] == held

    steps = record("joint-domain-steps", ["en"], 1, {t: (0.36, 0.05) for t in languages})
    lines, _ = report.joint_at_equal_epochs(report.Grid([*records, steps]))
    assert "| en | 30.0 ± 0.0 (n=3) / 20.0 ± 0.0 (n=3) | 35.0 ± 0.0 (n=3) / 10.0 ± 0.0 (n=3) | 36.0 ± 0.0 (n=1) / 5.0 ± 0.0 (n=1) |" in lines
    assert lines[-1] == "| 1 | -1.0 / +5.0 | -1.0 / +20.0 | -1.0 / +20.0 | -1.0 / +20.0 | -1.0 / +20.0 |"
    lines = lines[:-6]  # the per-seed table after the two sentences
    assert lines[-3] == ("Given the joint's optimizer steps (seed 1, paired), on English: en: joint 35.0 vs English only 36.0"
                         " (seed 1, paired; ahead in 0 of 1) micro-F1; en: joint 10.0 vs English only 5.0 (seed 1, paired; ahead in 1 of 1) macro-F1 — mixed: ahead on one metric only.")
    assert lines[-1].startswith("Given the joint's optimizer steps (seed 1, paired), on the other test languages (the English model"
                                " zero-shot): german: joint 35.0 vs English only 36.0 (seed 1, paired; ahead in 0 of 1) micro-F1; german: joint 25.0")
    assert lines[-1].endswith("macro-F1 — the joint is ahead in 4 of 8 (language, metric) comparisons.")

    # The joint's seed 1 is ahead of the control's seed 1 on English micro-F1 though the joint's mean over
    # seeds 1–3 is behind: the verdict follows the seed both have.
    lucky = [r for r in records if r["cell"]["experiment"] != "joint-domain"]
    lucky += [record("joint-domain", languages, seed, {t: (en_micro if t == "en" else 0.35, 0.10 if t == "en" else 0.25)
                                                       for t in languages}) for seed, en_micro in ((1, 0.37), (2, 0.34), (3, 0.34))]
    lines, _ = report.joint_at_equal_epochs(report.Grid([*lucky, steps]))
    assert lines[-1].startswith("| 1 | +1.0 / +5.0 |")
    lines = lines[:-6]
    assert "| en | 30.0 ± 0.0 (n=3) / 20.0 ± 0.0 (n=3) | 35.0 ± 1.7 (n=3) / 10.0 ± 0.0 (n=3) | 36.0 ± 0.0 (n=1) / 5.0 ± 0.0 (n=1) |" in lines
    assert lines[-3].startswith("Given the joint's optimizer steps (seed 1, paired), on English: en: joint 37.0 vs English only 36.0")
    assert lines[-3].endswith("— the joint stays ahead, so its lead is not only its steps.")


def workers_of(pid: int) -> set[int]:
    """The runner's pool workers: its children that run multiprocessing's spawn entry point."""
    out = set()
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid and b"spawn_main" in (proc / "cmdline").read_bytes():
                out.add(int(proc.name))
        except (ValueError, OSError, IndexError):
            continue
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_runner_takes_its_workers_with_it(tiny_xlmr_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    link(data, "en", ("train", "dev", "test"))
    argv = ["--data", str(data), "--out", str(tmp_path / "results"), "--models", str(tmp_path / "models"),
            "--encoder", str(tiny_xlmr_dir), "--experiments", "variants", "--seeds", "1", "--profile", "smoke", "--workers", "2"]
    runner = subprocess.Popen([sys.executable, "-m", "benchmarks.accuracy.run", *argv],
                              cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(workers := workers_of(runner.pid)) < 2 and time.time() < deadline:
        time.sleep(0.1)
    assert len(workers) == 2, "the pool never started"
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=60) != 0
    survivors = {pid for pid in workers if Path(f"/proc/{pid}").exists()
                 and (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")}
    assert not survivors  # killed with their runner, not left training into the models directory


def test_cells_run_longest_first_within_a_seed() -> None:
    grid_cells = cells(["variants", "supervised", "joint", "domains"], [1, 2], "reduced")
    assert len(grid_cells) == 2 * (7 + 4 + 1 + 12)
    assert [c.experiment for c in grid_cells[:6]] == ["joint", "supervised", "supervised", "supervised", "supervised", "variants"]
    assert grid_cells[24].seed == 2 and grid_cells[24].experiment == "joint"
    assert len({c.id for c in grid_cells}) == len(grid_cells)
    both = cells(["domains", "joint-domain"], [1], "reduced-softmax")
    assert len(both) == len({c.id for c in both}) == 12 + 1 + 4 + 1  # English's literature ETM-ES cell serves both


def test_findings_say_when_the_baseline_variant_never_learned() -> None:
    def record(markers: str, pooling: str, seed: int, test: float, dev: list[float]) -> dict:
        cell = {"experiment": "variants", "markers": markers, "pooling": pooling, "task": "extract", "train": ["en"],
                "domain": None, "seed": seed}
        return {"cell": cell, "evaluations": {"en": {"micro_f1": test}}, "profile": {"epochs": 2},
                "history": [{"epoch": i + 1, "dev_micro_f1": d} for i, d in enumerate(dev)],
                "best_epoch": 1 + max(range(len(dev)), key=dev.__getitem__)}

    summary = {"zero_shot_ratio": {"average": None}}
    learned = [record(m, p, 1, 0.3, [0.1, 0.2]) for m in ("um", "etm") for p in ("es", "emp")]
    stuck = report.Grid([*learned, record("um", "ss", 1, 0.0, [0.0, 0.0]), record("etm", "ss", 1, 0.0, [0.0, 0.0])])
    line = next(l for l in report.findings(stuck, summary) if "ES/EMP beat SS" in l)
    assert "holds" in line and "UM-SS and ETM-SS never left" in line
    budget = next(l for l in report.findings(stuck, summary) if "Training budget" in l)
    assert "4 of 6 extract-mode cells" in budget  # the four that learned peaked in epoch 2 of 2

    weak = report.Grid([*learned, record("um", "ss", 1, 0.05, [0.0, 0.04]), record("etm", "ss", 1, 0.0, [0.0, 0.0])])
    line = next(l for l in report.findings(weak, summary) if "ES/EMP beat SS" in l)
    assert ". ETM-SS never left" in line and "UM-SS and" not in line


def test_missing_cells_can_be_listed_for_some_experiments_only() -> None:
    absent = report.missing([], [1], "reduced-softmax", ["domains"])
    assert len(absent) == 12 and all(m.startswith("domains__") for m in absent)
    assert len(report.missing([], [1], "reduced-softmax")) == 7 + 4 + 1 + 12  # joint-domain only when asked for


def test_frozen_embeddings_are_compared_with_the_all_weights_twin_profile() -> None:
    assert report.all_weights_twin("reduced") == "reduced-all-weights"
    assert report.all_weights_twin("reduced-softmax") is None and report.all_weights_twin("paper") is None

    def record(target_f1: float, seed: int = 1) -> dict:
        cell = {"experiment": "variants", "markers": "etm", "pooling": "emp", "task": "extract", "train": ["en"],
                "domain": None, "seed": seed}
        return {"cell": cell, "evaluations": {lang: {"micro_f1": 0.4 if lang == "en" else target_f1}
                                              for lang in ("en", "german", "spanish", "chinese", "japanese")}}

    lines, ahead = report.frozen_vs_all_weights(report.Grid([record(0.2)]), report.Grid([record(0.3)]), "reduced-all-weights")
    assert ahead is False
    assert "| all trained | 40.0 ± 0.0 (n=1) | 30.0 ± 0.0 (n=1) |" in "\n".join(lines)
    assert "helps transfer — does not hold, fewer than 3 seeds: target average 20.0 frozen vs 30.0" in lines[-1]
    assert "frozen ahead in 0 of 1 seeds paired by seed" in lines[-1]

    # A frozen seed with no all-weights twin would drag the frozen mean to 20.0; only seed 1 is compared.
    lines, ahead = report.frozen_vs_all_weights(report.Grid([record(0.4), record(0.0, seed=2)]),
                                                report.Grid([record(0.3)]), "reduced-all-weights")
    assert ahead is True
    assert "`reduced-all-weights` cells; seed 1, paired)" in lines[1]
    assert "| frozen (but marker rows) | 40.0 ± 0.0 (n=1) | 40.0 ± 0.0 (n=1) |" in "\n".join(lines)
    assert "helps transfer — holds, fewer than 3 seeds: target average 40.0 frozen vs 30.0" in lines[-1]


def test_a_joint_with_fewer_epochs_is_compared_at_equal_passes_too() -> None:
    def record(experiment: str, train: list[str], epochs: int, dev: list[float]) -> dict:
        cell = {"experiment": experiment, "markers": "etm", "pooling": "emp", "task": "extract", "train": train,
                "domain": None, "seed": 1}
        return {"cell": cell, "evaluations": {}, "profile": {"epochs": 5}, "epochs": epochs,
                "history": [{"epoch": i + 1, "dev_micro_f1": d} for i, d in enumerate(dev)]}

    sources = [record("variants", ["en"], 5, [0.0, 0.2]), record("supervised", ["german"], 5, [0.02, 0.3])]
    joint_key = ("joint", "etm", "emp", "extract", ("en", "german"), None)
    caveat = report.joint_budget_caveat(report.Grid([*sources, record("joint", ["en", "german"], 1, [0.08])]), joint_key)
    assert "trained 1 epoch against the others' 5 epochs" in caveat and "8.0 joint (n=1;" in caveat and "1.0 one model" in caveat
    assert report.joint_budget_caveat(report.Grid([*sources, record("joint", ["en", "german"], 5, [0.08])]), joint_key) == ""


def test_emp_and_es_are_compared_at_the_profiles_epochs_and_given_more() -> None:
    def record(experiment: str, pooling: str, seed: int, micro: float, macro: float, dev: list[float]) -> dict:
        cell = {"experiment": experiment, "markers": "etm", "pooling": pooling, "task": "classify", "train": ["en"],
                "domain": JOINT_DOMAIN, "seed": seed}
        return {"cell": cell, "profile": {"epochs": 5}, "epochs": 25 if experiment == "joint-domain-steps" else 5,
                "evaluations": {"en": {"micro_f1": micro, "macro_f1": macro}},
                "history": [{"epoch": i + 1, "dev_micro_f1": d, "dev_macro_f1": d / 2} for i, d in enumerate(dev)]}

    short = [record("domains", "es", s, 0.5, 0.25, [0.2, 0.4]) for s in (1, 2)]
    short += [record("domains", "emp", s, 0.3, 0.10, [0.1, 0.2]) for s in (1, 2)]
    longer = [record("joint-domain-steps", "es", s, 0.7, 0.40, [0.2, 0.4, 0.5]) for s in (1, 2, 3)]
    emp_seed_4_only = [record("joint-domain-steps", "emp", 4, 0.72, 0.30, [0.1, 0.3, 0.6])]
    lines, caught_up = report.pooling_at_more_epochs(report.Grid([*short, *longer, *emp_seed_4_only]))
    assert caught_up is None  # no seed has both at the longer budget
    assert "| pooling | 5 epochs (seeds 1, 2, paired) | 25 epochs (no seed in common) |" in lines

    emp = [record("joint-domain-steps", "emp", s, 0.72, 0.30 + s / 100, [0.1, 0.3, 0.6]) for s in (1, 2)]
    lines, caught_up = report.pooling_at_more_epochs(report.Grid([*short, *longer, *emp]))
    assert caught_up is False  # ahead on micro-F1, behind on macro-F1
    assert "| ETM-EMP | 30.0 ± 0.0 (n=2) / 10.0 ± 0.0 (n=2) | 72.0 ± 0.0 (n=2) / 31.5 ± 0.7 (n=2) |" in lines
    assert "| ETM-ES | 50.0 ± 0.0 (n=2) / 25.0 ± 0.0 (n=2) | 70.0 ± 0.0 (n=2) / 40.0 ± 0.0 (n=2) |" in lines  # seeds 1, 2 only
    assert lines[-1].startswith("EMP catches up with ES given more epochs — mixed: ahead on one metric only: 5 epochs:"
                                " ETM-EMP 30.0 vs ETM-ES 50.0 (seeds 1, 2, paired; ahead in 0 of 2) micro-F1;")
    assert lines[-1].endswith("Dev macro-F1 after each epoch (mean over seeds): ETM-EMP 5.0, 15.0, 30.0 vs ETM-ES 10.0,"
                              " 20.0, 25.0; ETM-EMP behind after 2 of 3 epochs. Epochs trained per seed (25 epochs budget):"
                              " ETM-ES 3, 3; ETM-EMP 3, 3.")
    text, summary = report.tables(report.Grid([*short, *longer, *emp]))
    assert "### ETM-EMP vs ETM-ES given more epochs" in text and summary["emp_catches_up_with_es_given_more_epochs"] is False


def test_findings_compare_emp_with_es_and_how_fast_each_learned() -> None:
    def record(markers: str, pooling: str, test: float, dev: list[float]) -> dict:
        cell = {"experiment": "variants", "markers": markers, "pooling": pooling, "task": "extract", "train": ["en"],
                "domain": None, "seed": 1}
        return {"cell": cell, "evaluations": {"en": {"micro_f1": test}}, "profile": {"epochs": 2}, "best_epoch": 2,
                "history": [{"epoch": i + 1, "dev_micro_f1": d} for i, d in enumerate(dev)]}

    grid_ = report.Grid([record("etm", "es", 0.3, [0.1, 0.3]), record("etm", "emp", 0.2, [0.0, 0.3]),
                         record("um", "es", 0.2, [0.1, 0.2]), record("um", "emp", 0.25, [0.1, 0.2])])
    line = next(l for l in report.findings(grid_, {"zero_shot_ratio": {"average": None}}) if "EMP beats ES" in l)
    assert ("— mixed (1 of 2), fewer than 3 seeds: ETM-EMP 20.0 vs ETM-ES 30.0 (seed 1, paired; ahead in 0 of 1);"
            " UM-EMP 25.0 vs UM-ES 20.0 (seed 1, paired; ahead in 1 of 1)") in line
    assert line.endswith("Dev micro-F1 after each epoch (mean over seeds): ETM-EMP 0.0, 30.0 vs ETM-ES 10.0, 30.0;"
                         " ETM-EMP behind after 1 of 2 epochs.")


def test_pooling_steps_adds_an_emp_twin_to_the_steps_control() -> None:
    steps = cells(["pooling-steps"], [1], "reduced-softmax")
    assert [(c.experiment, c.pooling) for c in steps] == [("joint-domain-steps", "es"), ("joint-domain-steps", "emp")]
    assert steps[0] in cells(["joint-domain"], [1], "reduced-softmax")  # the ES control is trained once for both
    assert len(cells(["joint-domain", "pooling-steps"], [1], "reduced-softmax")) == 1 + 5 + 1 + 1


def test_comparisons_pair_seeds_and_count_the_seeds_each_side_wins() -> None:
    def record(pooling: str, seed: int, test: float) -> dict:
        cell = {"experiment": "variants", "markers": "etm", "pooling": pooling, "task": "extract", "train": ["en"],
                "domain": None, "seed": seed}
        return {"cell": cell, "evaluations": {"en": {"micro_f1": test}}}

    # seed 4 has ES only: left out, so one side's extra seed cannot decide the verdict
    grid_ = report.Grid([record("emp", 1, 0.30), record("emp", 2, 0.20), record("emp", 3, 0.31),
                         record("es", 1, 0.28), record("es", 2, 0.25), record("es", 3, 0.29), record("es", 4, 0.90)])
    text, ahead = report.compare(grid_, report.english_key("etm", "emp"), report.english_key("etm", "es"), ("EMP", "ES"))
    assert text == "EMP 27.0 vs ES 27.3 (seeds 1, 2, 3, paired; ahead in 2 of 3)" and ahead is False


def test_the_paper_profile_transfers_to_every_language_and_compares_pair_schemes() -> None:
    paper = cells(["variants", "supervised", "pair-schemes"], [1], "paper")
    supervised = [c for c in paper if c.experiment == "supervised"]
    assert len(supervised) == 10  # every language but English has training data
    transfer = next(c for c in paper if c.id == "variants__etm-emp__extract__en__all__paper__s1")
    assert len(transfer.evaluate_on) == 11
    schemes = [c for c in paper if c.experiment == "pair-schemes"]
    assert [(c.markers, c.pooling) for c in schemes] == [(m, p) for m in ("um", "etm") for p in ("ss", "es", "emp")]
    assert all(c.pairs == "unordered" and c.id.endswith("__paper__unordered__s1") for c in schemes)
    assert len(cells(["variants", "supervised"], [1], "reduced")) == 7 + 4  # profiles without dev-only languages unchanged


def test_a_language_without_a_test_set_is_scored_on_dev_outside_the_early_stopping_sample(tmp_path: Path) -> None:
    data = tmp_path / "data"
    link(data, "french", ("train", "dev"))
    profile = dataclasses.replace(run.PROFILES["smoke"], sentence_limit=None, dev_sentences=30)
    sentences, split = run.evaluation_sentences(data, "french", None, profile)
    dev = run.split_files(data, ("french",), None, "dev")
    from polyrel.model.training.data import read_corpus, sample

    everything = read_corpus(dev).sentences
    stopping = {(s.doc_id, s.text) for s in sample(everything, 30)}
    assert split == "dev" and len(sentences) == len(everything) - 30
    assert not stopping & {(s.doc_id, s.text) for s in sentences}


def test_unordered_cells_train_one_candidate_per_pair_and_the_report_compares_schemes(tiny_xlmr_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    link(data, "en", ("train", "dev", "test"))
    names = grid(data, tmp_path, tiny_xlmr_dir, "pair-schemes", "variants", extra=("--variants", "etm-es"))
    assert names == ["pair-schemes__etm-es__extract__en__all__smoke__unordered__s1.json",
                     "variants__etm-es__extract__en__all__smoke__s1.json"]
    unordered, ordered = (json.loads((tmp_path / "results" / "cells" / n).read_text()) for n in names)
    assert unordered["cell"]["pairs"] == "unordered"
    assert json.loads((tmp_path / "models" / names[0].removesuffix(".json") / "config.json").read_text())["pairs"] == "unordered"
    assert 0 < unordered["train_pairs"] < ordered["train_pairs"]  # one candidate per pair, not two
    assert unordered["evaluations"]["en"]["n_pairs"] == ordered["evaluations"]["en"]["n_pairs"]  # both scored as ordered pairs
    assert report.main(["--out", str(tmp_path / "results"), "--profile", "smoke", "--seeds", "1"]) == 0
    text = (tmp_path / "results" / "RESULTS.md").read_text()
    assert "### Candidate pairs: every ordered pair vs one per pair in sentence order" in text
    assert "| ETM-ES |" in text.split("### Candidate pairs")[1]
