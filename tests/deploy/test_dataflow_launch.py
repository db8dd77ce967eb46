"""The flex template's entry point: declared parameters become polyrel flags, the rest go to Beam."""
import importlib.util
import json
from pathlib import Path

from polyrel.cli import build_parser
from polyrel.pipeline.options import RunOptions

DATAFLOW = Path(__file__).resolve().parents[2] / "deploy" / "dataflow"


def launcher():
    spec = importlib.util.spec_from_file_location("launch", DATAFLOW / "launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_template_parameters_are_the_flags_the_launcher_translates():
    declared = {p["name"] for p in json.loads((DATAFLOW / "metadata.json").read_text())["parameters"]}
    assert declared == set(launcher().POLYREL_FLAGS)


def test_parameters_become_polyrel_flags_and_the_rest_beam_options():
    argv = launcher().translate(["--inputs=gs://a/x.txt,gs://a/y.jsonl", "--out=gs://o", "--lang=de",
                                 "--restrict_type_pairs=true", "--cjk_words=characters", "--project=p", "--region=europe-west4"])
    assert argv[:3] == ["run", "gs://a/x.txt", "gs://a/y.jsonl"]
    assert {"--out=gs://o", "--lang=de", "--restrict-type-pairs"} <= set(argv)
    assert argv[argv.index("--runner") + 1] == "DataflowRunner"
    assert argv[argv.index("--beam-args") + 1:] == ["--project=p", "--region=europe-west4"]
    options = RunOptions.from_args(build_parser().parse_args(argv))
    assert (options.lang, options.restrict_type_pairs, options.runner) == ("de", True, "DataflowRunner")
    assert options.cjk_words == "characters"
    assert options.beam_args == ("--project=p", "--region=europe-west4")


def test_the_scheduled_template_takes_the_plain_parameters_but_a_run_id_and_adds_full():
    scheduled = DATAFLOW.parent / "schedule" / "dataflow" / "metadata.json"
    declared = {p["name"] for p in json.loads(scheduled.read_text())["parameters"]}
    assert declared == set(launcher().POLYREL_FLAGS) - {"run_id"} | {"full"}  # each scheduled run makes its own id


def test_every_polyrel_run_option_is_a_template_parameter():
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    options = {a.dest for a in run._actions} - {"help", "runner", "beam_args", "incremental", "full"}
    assert {"output" if name == "out" else name for name in launcher().POLYREL_FLAGS} == options  # --out's dest is output
