"""What LZR and ZMap users expect of the commands: exact option names, --version, a licence."""
from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import lzr
from lzr import cli, subcommands
from lzr.analyze import cli as analyze_cli
from lzr_sim import cli as sim_cli

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _parsers():
    """(name, parser, positional arguments it needs) for every parser the commands use."""
    yield "lzr", cli.build_parser(), []
    for name, sub in _subparsers(subcommands._parser()).items():
        yield f"lzr {name}", sub, ["http"] if name == "probe" else []
    yield "lzr analyze", analyze_cli.build_parser(), ["scan.json"]
    top = sim_cli._parser()
    yield "lzr-sim", top, ["list"]
    for name, sub in _subparsers(top).items():
        yield f"lzr-sim {name}", sub, []


def _abbreviations(parser: argparse.ArgumentParser):
    """Every proper prefix of every option name that is not itself an option name."""
    names = {name for action in parser._actions for name in action.option_strings}
    for name in sorted(names):
        dashes = len(name) - len(name.lstrip("-"))
        for end in range(dashes + 1, len(name)):
            if name[:end] not in names:
                yield name[:end]


PARSERS = list(_parsers())


@pytest.mark.parametrize("command, parser, positionals", PARSERS, ids=[p[0] for p in PARSERS])
def test_no_option_is_taken_by_a_prefix_of_its_name(command, parser, positionals):
    tried = 0
    for prefix in _abbreviations(parser):
        _, extras = parser.parse_known_args([*positionals, prefix])
        assert prefix in extras, f"{command} took {prefix!r} as an abbreviation"
        tried += 1
    assert tried > 0


@pytest.mark.parametrize("argv", [
    ["lzr", "-sendS"],                      # -sendSYNs
    ["lzr", "-b", "list.txt"],              # -blocklist
    ["lzr", "--print-t"],                   # --print-targets
    ["lzr", "fingerprint", "-hex", "-handsh", "http"],
    ["lzr", "analyze", "-", "--form", "json"],  # --format
    ["lzr-sim", "up", "--host", "3"],       # --hosts
])
def test_abbreviations_are_usage_errors(argv):
    result = subprocess.run([BIN / argv[0], *argv[1:]], capture_output=True, text=True,
                            input="", timeout=60)
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


@pytest.mark.parametrize("argv", [["lzr", "--version"], ["lzr", "-version"],
                                  ["lzr-sim", "--version"]])
def test_version_comes_from_the_package(argv):
    result = subprocess.run([BIN / argv[0], *argv[1:]], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout == f"{argv[0]} {lzr.__version__}\n"
    assert importlib.metadata.version("lzr") == lzr.__version__


def test_dryrun_warns_that_it_sends_and_help_names_print_targets(capsys):
    cfg = cli.parse_args(["-dryrun"])
    assert cfg.dryrun and cfg.sends_syns
    warning = capsys.readouterr().err
    assert "-dryrun sends a SYN" in warning and "--print-targets" in warning
    cli.parse_args(["-dryrun", "--print-targets"])      # sends nothing: nothing to warn about
    assert capsys.readouterr().err == ""
    help_text = " ".join(cli.build_parser().format_help().split())
    assert "--print-targets is the mode that sends nothing" in help_text


def test_the_licence_is_the_apache_license_pyproject_names():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = "Apache-2.0"' in pyproject and 'license-files = ["LICENSE"]' in pyproject
