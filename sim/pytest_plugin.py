"""pytest fixtures that start emulated hosts for a test and always tear them down.

Installed with the `lzr` distribution and loaded by pytest through its `pytest11` entry
point, so any project's tests can use them:

    def test_finds_my_services(sim_network):
        net = sim_network(profile="unexpected", hosts=5, seed=1, hard_cases=False)
        records = net.scan(net.default_flags())
        assert net.accuracy(records).recall == 1.0

`sim_network(...)` takes either a population (`profile`, `hosts`, `seed`, `topology`,
`hard_cases`) or a ready `manifest` (a `lzr_sim.manifest.Manifest` or a path to its JSON), plus
`loss` and `delay_ms`. It returns a running `Network`: `.manifest`, `.targets()`, `.default_flags()` (the
flags `lzr-sim` would use for this population), `.scan(flags)` -> records,
`.accuracy(records, flags)` -> `lzr_sim.report.Report`, `.run(node, argv)` to run another tool
inside the network, `.run_id`. Every network a test started
is torn down when the test ends, pass or fail. The fixture needs root, Mininet and mnexec:
without them the test is skipped, or fails when the environment says CI=true.
docs/pytest-plugin.md has the details.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def _missing_capability() -> str | None:
    if os.geteuid() != 0:
        return "lzr-sim needs root"
    if shutil.which("mnexec") is None:
        return "lzr-sim needs mnexec (Debian package mininet)"
    try:
        import mininet.net  # noqa: F401
    except ImportError:
        return "lzr-sim needs the mininet Python package"
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "lzr_sim: the test starts an emulated network (sim_network)")


class Network:
    """A running emulated population, as the `sim_network` fixture hands it to a test."""

    def __init__(self, net) -> None:
        self._net = net
        self.manifest = net.manifest
        self.run_id = net.run_id

    def targets(self) -> list[tuple[str, int]]:
        return self._net.targets()

    def scan(self, flags: list[str], timeout: float = 600.0,
             targets: list[tuple[str, int]] | None = None) -> list[dict]:
        """Run `lzr` with `flags` in the scanner host against `targets` (default: all); its records."""
        return self._net.scan(list(flags), timeout=timeout, targets=targets)

    def default_flags(self, flags: list[str] = ()) -> list[str]:
        """`flags` plus what `lzr-sim` adds for this population: -handshakes wait,http,tls and
        the handshakes its other protocols need, -haf 3 if it has ACKing firewalls."""
        from lzr_sim.flags import lzr_flags_for
        return lzr_flags_for(self.manifest, list(flags))

    def accuracy(self, records: list[dict], flags: list[str] | None = None):
        """The accuracy report of `records` against this network's manifest."""
        from lzr_sim.flags import handshakes_of
        from lzr_sim.report import evaluate
        return evaluate(self.manifest, records, handshakes_of(flags) if flags else None)

    def run(self, node: str, argv: list[str], timeout: float | None = None, **kwargs):
        """Run a command inside `node` (`sc`: the scanner host); a CompletedProcess."""
        return self._net.run(node, argv, timeout=timeout, **kwargs)

    def node(self, name: str):
        """The Mininet host of a manifest node (`h1`, `p1`) or `sc` (scanner), `rt` (router)."""
        return self._net.node(name)


@pytest.fixture
def sim_network():
    """Factory: `sim_network(profile=..., hosts=..., seed=...)` -> a running `Network`."""
    missing = _missing_capability()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"capability missing on CI: {missing}", pytrace=False)
        pytest.skip(missing)

    from lzr_sim.network import SimNetwork
    from lzr_sim.manifest import Manifest
    from lzr_sim.population import Options, daemon_tier, generate

    started = []

    def start(profile: str = "unexpected", hosts: int = 5, seed: int = 1, *, topology: str = "routed",
              hard_cases: bool = True, manifest: Manifest | str | Path | None = None,
              loss: float = 0.0, delay_ms: float = 0.0) -> Network:
        if manifest is None and profile == "daemons":
            manifest = daemon_tier(seed)  # a fixed population: hosts, topology, hard_cases do not apply
        elif manifest is None:
            options = Options(topology=topology) if hard_cases else Options(
                topology=topology, host_hard_cases={}, service_hard_cases={})
            manifest = generate(profile, hosts, seed, options)
        elif not isinstance(manifest, Manifest):
            manifest = Manifest.load(manifest)
        net = SimNetwork(manifest, loss=loss, delay_ms=delay_ms)
        net.__enter__()
        started.append(net)
        return Network(net)

    try:
        yield start
    finally:
        for net in reversed(started):
            net.down()
            shutil.rmtree(net.directory, ignore_errors=True)   # a test's run leaves nothing
