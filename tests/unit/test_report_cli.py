"""The lzr-sim CLI's pure helpers: handshake lists and default scan flags."""
import subprocess
import sys

from sim.cli import _lzr_flags, _parser
from sim.flags import handshakes_of
from sim.population import Options, generate


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
    code = ("import sys, sim.pytest_plugin, sim.flags, sim.network, sim.report\n"
            "assert 'sim.cli' not in sys.modules, sorted(m for m in sys.modules if m.startswith('sim'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
