"""`lzr` through the emulated network: a small `lzr-sim run`, and the accuracy gate.

The gate: a 50-host `unexpected` population with hard cases, scanned with wait,http,tls plus
the handshakes the population needs; recall >= 99% and precision 100% over identifiable
services; with 3% packet loss at every target recall >= 97%; zero-window, ACKing-firewall
(with -haf) and RST targets get the records the manifest expects.
"""
import subprocess
import sys

import pytest

from lzr_sim.flags import default_handshakes
from lzr_sim.population import generate
from lzr_sim.runs import run_root

pytestmark = pytest.mark.mininet

GATE_HOSTS, GATE_SEED = 50, 6


def gate_flags(manifest):
    return ["-handshakes", ",".join(default_handshakes(manifest)), "-haf", "3"]


@pytest.mark.parametrize("topology", ["routed", "sparse"])
def test_lzr_sim_run_names_every_service_of_a_small_population(tmp_path, topology):
    runs_before = set(run_root().glob("*/manifest.json"))
    result = subprocess.run(
        [sys.executable, "-m", "lzr_sim.cli", "run", "--hosts", "4", "--seed", "2", "--no-hard-cases",
         "--topology", topology, "--png", str(tmp_path / "plots")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "recall: **100.0%**, precision: **100.0%**" in result.stdout, result.stdout
    assert (tmp_path / "plots" / "coverage.png").exists()
    assert set(run_root().glob("*/manifest.json")) == runs_before     # its folder is gone


@pytest.fixture(scope="module")
def gate_manifest():
    manifest = generate("unexpected", hosts=GATE_HOSTS, seed=GATE_SEED)
    behaviours = {h.behaviour for h in manifest.hosts} | {s.behaviour for _, _, s in manifest.targets()}
    assert {"zero-window", "acking-firewall", "rst"} <= behaviours
    return manifest


def test_accuracy_gate(sim_network, gate_manifest):
    net = sim_network(manifest=gate_manifest)
    flags = gate_flags(gate_manifest)
    report = net.accuracy(net.scan(flags), flags)
    failures = [f"{c.address}:{c.port} {c.behaviour}: {c.mismatches or 'no record'}"
                for c in report.hard_cases if not c.ok]
    assert report.recall >= 0.99, report.markdown()
    assert report.precision == 1.0, report.markdown()
    assert not failures, failures


def test_accuracy_gate_with_three_percent_loss(sim_network, gate_manifest):
    net = sim_network(manifest=gate_manifest, loss=0.03)
    flags = gate_flags(gate_manifest)
    report = net.accuracy(net.scan(flags), flags)
    assert report.recall >= 0.97, report.markdown()
    assert report.precision == 1.0, report.markdown()


def test_shunning_host_answers_the_first_scan_only(sim_network):
    from lzr_sim.manifest import from_dict
    manifest = from_dict({"version": 1, "topology": "routed", "hosts": [
        {"name": "h1", "address": "198.18.0.10", "node": "h1", "behaviour": "shun", "services": [
            {"port": 2222, "protocol": "ssh", "identifiable": False, "expect": None}]}]})
    net = sim_network(manifest=manifest)
    flags = ["-handshakes", "wait", "-t", "2", "-c", "1"]
    (first,) = net.scan(flags)
    assert first["fingerprint"] == "ssh"
    (second,) = net.scan(flags)
    assert second["fingerprint"] == "unknown" and second.get("expectedRToLZR") == "sa", second
