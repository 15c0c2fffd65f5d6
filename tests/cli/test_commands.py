"""The `evy` command line as a whole: one module per command group, `--config` declared once, `evy bench` and
`evy eval` beside the others."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from evy.cli import COMMAND_MODULES, build_parser, main
from evy.config import DEFAULT_PATH

ROOT = Path(__file__).resolve().parents[2]


def leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command words, parser) for every command that runs something."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, parser
    for group in groups:
        for name, sub in group.choices.items():
            yield from leaf_parsers(sub, (*path, name))


def config_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if "--config" in a.option_strings]


def test_each_command_group_is_registered_by_its_own_module():
    groups: dict[str, list[str]] = {}  # module -> the command groups (commands with actions) it registers
    for name in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        __import__(name, fromlist=["register"]).register(sub)
        groups[name] = sorted(command for command, parser in sub.choices.items()
                              if any(isinstance(a, argparse._SubParsersAction) for a in parser._actions))
    assert all(len(registered) <= 1 for registered in groups.values()), groups
    assert {"frame", "lora", "mesh", "kb", "models"} <= {g for registered in groups.values() for g in registered}


def test_config_is_declared_once_with_one_help_text():
    leaves = list(leaf_parsers(build_parser()))
    with_config = {words: config_options(p) for words, p in leaves if config_options(p)}
    assert len(with_config) >= 12
    standard = {words: opts[0].help for words, opts in with_config.items()
                if words not in {("sim",), ("eval",)}}
    assert set(standard.values()) == {f"agent config file (default {DEFAULT_PATH})"}, standard
    assert all(opts[0].metavar == "FILE" and opts[0].default is None for opts in with_config.values())


@pytest.mark.parametrize("words", [("run",), ("mesh", "status"), ("cases", "list"), ("models", "verify")])
def test_config_reaches_the_command(words, tmp_path):
    args = build_parser().parse_args([*words, "--config", str(tmp_path / "evy.toml")])
    assert args.config == str(tmp_path / "evy.toml")


def test_bench_names_an_unknown_benchmark_in_one_line(capsys):
    assert main(["bench", "no-such-benchmark"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: no benchmark 'no-such-benchmark' (have ") and error.count("\n") == 1
    assert "codec" in error and "mesh" in error


def test_bench_and_eval_are_evy_subcommands_and_the_only_way_in():
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"bench", "eval"} <= set(commands)
    for old in ("evy.bench", "evy.evaluate"):
        gone = subprocess.run([sys.executable, "-m", old, "--help"], capture_output=True, text=True, timeout=60,
                              env={"PYTHONPATH": str(ROOT / "agent"), "PATH": "/usr/bin:/bin"})
        assert gone.returncode != 0 and "cannot be directly executed" in gone.stderr
