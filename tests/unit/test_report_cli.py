"""The lzr-sim CLI's pure helpers: handshake lists and default scan flags."""
import subprocess
import sys

import pytest

from lzr_sim.cli import _lzr_flags, _parser
from lzr_sim.flags import handshakes_of
from lzr_sim.population import Options, generate


def test_handshakes_of_reads_both_flag_spellings():
    assert handshakes_of(["-handshakes", "wait,http", "-haf", "3"]) == ["wait", "http"]
    assert handshakes_of(["--handshakes=tls, ssh"]) == ["tls", "ssh"]
    assert handshakes_of(["-t", "3"]) == ["http"]  # LZR's default


def test_default_flags_add_the_handshakes_the_population_needs():
    manifest = generate("unexpected", hosts=30, seed=1)
    args = _parser().parse_args(["run", "--", "-haf", "3"])
    flags = _lzr_flags(args, manifest)
    assert flags[0] == "-handshakes" and flags[-2:] == ["-haf", "3"]
    assert flags[1].startswith("wait,") and ",http,tls" in flags[1]


def test_acking_firewalls_get_haf_probes_unless_the_user_set_haf():
    manifest = generate("unexpected", hosts=30, seed=1)
    assert any(host.behaviour == "acking-firewall" for host in manifest.hosts)
    flags = _lzr_flags(_parser().parse_args(["run"]), manifest)
    assert flags[-2:] == ["-haf", "3"]
    quiet = generate("unexpected", hosts=30, seed=1, options=Options(host_hard_cases={}))
    assert "-haf" not in _lzr_flags(_parser().parse_args(["run"]), quiet)


def test_explicit_handshakes_are_kept_as_given():
    manifest = generate("unexpected", hosts=3, seed=1, options=Options(host_hard_cases={}))
    args = _parser().parse_args(["scan", "--", "-handshakes=http"])
    assert _lzr_flags(args, manifest) == ["-handshakes=http"]


def test_the_pytest_plugin_and_the_library_do_not_import_the_cli():
    code = ("import sys, lzr_sim.pytest_plugin, lzr_sim.flags, lzr_sim.network, lzr_sim.report\n"
            "assert 'lzr_sim.cli' not in sys.modules, sorted(m for m in sys.modules if m.startswith('lzr_sim'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def lzr_sim_without(module: str, argv: list[str], cwd) -> subprocess.CompletedProcess:
    """`lzr-sim ARGV` in a Python where importing `module` fails as if it were not installed."""
    code = ("import importlib.abc, sys\n"
            "class Missing(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] == {module!r}:\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, Missing())\n"
            "from lzr_sim.cli import main\n"
            f"sys.exit(main({argv!r}))\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_report_png_without_matplotlib_says_which_extra_to_install(tmp_path):
    manifest = generate("unexpected", hosts=2, seed=1, options=Options(host_hard_cases={}))
    manifest.save(tmp_path / "manifest.json")
    (tmp_path / "records.json").write_text("")
    result = lzr_sim_without("matplotlib", ["report", "--manifest", "manifest.json", "--records", "records.json",
                                            "--png", "plots"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "lzr-sim report: needs the Python package matplotlib, which the `sim` extra installs: "
        "pip install 'lzr[sim]'"]
    assert not (tmp_path / "plots").exists()


def test_up_without_mininet_says_which_extra_to_install(tmp_path):
    result = lzr_sim_without("mininet", ["up", "--hosts", "1"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "lzr-sim up: needs the Python package mininet, which the `sim` extra installs: pip install 'lzr[sim]'"]


def test_the_daemon_profile_is_the_tier_and_takes_no_population_size(tmp_path):
    from lzr_sim.cli import CliError, _manifest
    from lzr_sim.population import daemon_tier
    args = _parser().parse_args(["run", "--profile", "daemons", "--seed", "2",
                                 "--save-manifest", str(tmp_path / "m.json")])
    assert _manifest(args) == daemon_tier(2)
    assert (tmp_path / "m.json").read_text() == daemon_tier(2).to_json()
    for extra in (["--hosts", "5"], ["--no-hard-cases"], ["--topology", "lan"]):
        with pytest.raises(CliError, match="fixed population"):
            _manifest(_parser().parse_args(["run", "--profile", "daemons", *extra]))
