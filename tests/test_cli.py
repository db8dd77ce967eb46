"""The `polyrel` executable: user errors as one line, complete help."""

import argparse

import pytest

from polyrel.cli import build_parser, run_console


def test_a_user_error_is_one_line_and_exit_2(capsys):
    assert run_console(["score", "--data", "/nonexistent/en/x.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("polyrel: error:") and "/nonexistent/en/x.json" in err
    with pytest.raises(OSError):
        run_console(["--debug", "score", "--data", "/nonexistent/en/x.json"])


def subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in subcommands(sub))


def test_every_option_of_every_command_is_explained():
    unexplained = {name: [a.option_strings or a.dest for a in parser._actions if not a.help]
                   for name, parser in [("polyrel", build_parser()), *subcommands(build_parser())]}
    assert {name: options for name, options in unexplained.items() if options} == {}


def test_building_the_parser_loads_no_deep_learning_library():
    """`--help` stays instant, and library settings made before a command runs (progress bars off,
    `quiet_libraries`) reach the libraries, which read them when first imported."""
    import subprocess
    import sys

    probe = ("import sys; from polyrel.cli import build_parser; build_parser();"
             " print(sorted(m for m in ('torch', 'transformers', 'huggingface_hub', 'apache_beam') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "[]"
