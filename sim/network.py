"""Build an emulated population, scan it with `lzr`, and always tear it down.

    with SimNetwork(generate("unexpected", hosts=30, seed=1)) as net:
        records = net.scan(["-handshakes", "wait,http,tls"])

Life of a run:

1. A run id (`lzr_sim.topologies.base.new_run_id`) names every node, bridge and link. The run
   directory `<run root>/<run id>/` gets `state.json` (lzr_sim.runs) with the pid of the owning
   process before anything is created, so the next run finds and removes the leftovers of a
   run that was killed.
2. Mininet builds the topology (LinuxBridge, no controller). The scanner's only route is the
   router, which has no route out; nothing links to the root namespace's interfaces.
3. Services: one runner per answering node (lzr_sim.runners).
4. Behaviours (zero window, ACKing firewall, loss, delay, ...) from the registry of
   `lzr_sim.behaviours`, installed inside the nodes.
5. `scan(flags)` runs `lzr` inside the scanner host (lzr_sim.scanner) and returns its JSON
   records. `lzr-sim scan` does the same from another process, using state.json.
6. Teardown (exit of the `with`, SIGTERM/SIGHUP/Ctrl-C, or an exception): processes by pid,
   then Mininet's own `net.stop()`, then any root-namespace link still carrying the run id.
   Never Mininet's global cleanup: it would hit other runs and other software.
"""
from __future__ import annotations

import contextlib
import ipaddress
import itertools
import re
import signal
import subprocess
import time
import warnings
from pathlib import Path

from lzr_sim import runners
from lzr_sim.behaviours import BEHAVIOURS, NORMAL, Behaviour, Delay, Loss
from lzr_sim.errors import HarnessError
from lzr_sim.manifest import Manifest
from lzr.runtime.process_identity import own_identity, start_time
from lzr_sim.processes import STOP_GRACE_SECONDS, in_main_thread, in_namespace, stop_processes
from lzr_sim.runs import RunState, cleanup_stale, delete_links, remove_run, run_links, run_root
from lzr_sim.scanner import run_scan

DAEMON_STOP_GRACE_SECONDS = 20.0


class SimNetwork:
    """An emulated population, up for the lifetime of a `with` block.

    manifest: the ground truth to build (its topology decides the Mininet topology);
    loss: packet-loss probability applied to every target node (0 for none);
    delay_ms: extra delay of every packet a target node sends (0 for none; one NFQUEUE
    program per node, so keep populations small);
    root: the run root (default `run_root()`).
    """

    def __init__(self, manifest: Manifest, loss: float = 0.0, root: Path | None = None,
                 quiet: bool = True, delay_ms: float = 0.0) -> None:
        from lzr_sim.topologies.base import new_run_id

        self.manifest = manifest
        self.loss = loss
        self.delay_ms = delay_ms
        self.root = Path(root) if root else run_root()
        self.quiet = quiet
        self.run_id = self._unused_run_id(new_run_id)
        self.directory = self.root / self.run_id
        self.net = None
        self.state: RunState | None = None
        self._runner_pids: list[tuple[int, int | None]] = []
        self._old_handlers: dict[int, object] = {}
        self._scan_numbers = itertools.count(1)  # next() is atomic: scans may run in threads
        self.timings: dict[str, float] = {}

    def _unused_run_id(self, make) -> str:
        while True:
            run_id = make()
            if not (self.root / run_id).exists() and not run_links(run_id):
                return run_id

    # -- context manager and signals --

    def __enter__(self) -> "SimNetwork":
        self._install_signal_handlers()
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.down()

    def _install_signal_handlers(self) -> None:
        if not in_main_thread():
            return

        def interrupt(signum, _frame):
            raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

        for signum in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[signum] = signal.signal(signum, interrupt)

    def _restore_signal_handlers(self) -> None:
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        self._old_handlers.clear()

    # -- bring up --

    def up(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        cleanup_stale(self.root)
        self.directory.mkdir(parents=True)
        self.manifest.save(self.directory / "manifest.json")
        self.state = RunState(self.run_id, *own_identity(), str(self.directory),
                              topology=self.manifest.topology, processes=[])
        self.state.save()  # before anything exists, so a killed run is always found

        started = time.monotonic()
        self._build_network()
        self.timings["network"] = time.monotonic() - started
        self._record_shells()

        started = time.monotonic()
        self._start_services()
        self.timings["services"] = time.monotonic() - started

        started = time.monotonic()
        self._apply_behaviours()
        self.timings["behaviours"] = time.monotonic() - started
        self.state.ready = True
        self.state.save()

    def _build_network(self) -> None:
        from mininet.log import setLogLevel
        from mininet.net import Mininet
        from mininet.nodelib import LinuxBridge

        setLogLevel("error" if self.quiet else "info")
        self.net = Mininet(topo=lab_topology(self.manifest, self.run_id), switch=LinuxBridge, controller=None,
                           autoSetMacs=True, waitConnected=False, build=False)
        with warnings.catch_warnings():
            # Mininet's LinuxBridge check logs through a deprecated logging call.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.net.build()
            self.net.start()
        for switch in self.net.switches:
            # Keep bridged lab traffic out of the root namespace's iptables and conntrack, so
            # the machine's own firewall neither sees nor drops it.
            subprocess.run(["ip", "link", "set", "dev", switch.name, "type", "bridge", "nf_call_iptables", "0",
                            "nf_call_ip6tables", "0", "nf_call_arptables", "0"], check=True, capture_output=True)
        for host in self.net.hosts:
            for intf in host.intfList():
                if intf.name != "lo":
                    # Real NICs fill in checksums and do not merge segments; veth by default does both.
                    host.cmd("ethtool -K", intf.name, "tx off rx off tso off gso off gro off >/dev/null 2>&1")

    def node(self, name: str):
        """The Mininet host of a manifest node name (`h3`, `p1`) or role (`sc`, `rt`)."""
        return self.net.get(f"{self.run_id}{name}")

    def _record_shells(self) -> None:
        scanner = self.node("sc")
        router = self.net.nameToNode.get(f"{self.run_id}rt")
        self.state.scanner = {
            "pid": scanner.pid, "start": start_time(scanner.pid),
            "address": scanner.IP(), "interface": scanner.defaultIntf().name,
            "gateway_mac": router.intf(f"{router.name}-eth0").MAC() if router else None,
        }
        self.state.processes = [[host.pid, start_time(host.pid)] for host in self.net.hosts]
        self.state.nodes = {host.name[len(self.run_id):]: host.pid for host in self.net.hosts}
        self.state.save()

    def _start_services(self) -> None:
        specs = runners.runner_specs(self.manifest, self.directory)
        if not specs:
            return
        runners.prepare_services({entry["protocol"] for spec in specs.values() for entry in spec
                                  if entry.get("protocol") and not entry.get("daemon")})
        forked = {}
        for node, spec in specs.items():
            pid, fd = runners.fork_runner(self.node(node).pid, spec, self.directory / f"services-{node}.log")
            self._runner_pids.append((pid, start_time(pid)))
            forked[node] = (pid, fd)
        self.state.processes += [list(p) for p in self._runner_pids]
        self.state.save()
        runners.wait_ready(forked)

    def _apply_behaviours(self) -> None:
        for node, behaviours in node_behaviours(self.manifest, self.loss, self.delay_ms).items():
            for behaviour in behaviours:
                behaviour.install(self.node(node))
                # The behaviour's helper process (NFQUEUE program, silent listener), if any,
                # is stopped by pid like every other process of the run.
                pid = behaviour.daemon_pid
                if pid is not None:
                    self._runner_pids.append((pid, start_time(pid)))
                    self.state.processes.append([pid, start_time(pid)])
        self.state.save()

    # -- use --

    def targets(self) -> list[tuple[str, int]]:
        return [(address, port) for address, port, _ in self.manifest.targets()]

    def scan(self, flags: list[str], output: Path | None = None, timeout: float = 600.0,
             targets: list[tuple[str, int]] | None = None) -> list[dict]:
        """Run `lzr` with `flags` in the scanner host against `targets` (default: every target
        of the manifest); its records."""
        output = output or self.directory / f"scan-{next(self._scan_numbers)}.json"
        return run_scan(self.state.scanner, targets or self.targets(), flags, Path(output), timeout)

    def run(self, node: str, argv: list[str], timeout: float | None = None, **kwargs) -> subprocess.CompletedProcess:
        """Run another tool (nmap, zmap, curl, ...) inside `node` (`sc` is the scanner) and wait.

        Output is captured as text unless `kwargs` say otherwise.
        """
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(in_namespace(self.node(node).pid, argv), timeout=timeout, **kwargs)

    def describe(self) -> str:
        """What runs where, one line per host, for `lzr-sim up`."""
        scanner = self.state.scanner
        lines = [f"run {self.run_id}: {len(self.manifest.hosts)} hosts, {len(self.targets())} targets, "
                 f"topology {self.manifest.topology}, run dir {self.directory}",
                 f"scanner {scanner['address']} on {scanner['interface']}"
                 + (f", gateway MAC {scanner['gateway_mac']}" if scanner["gateway_mac"] else "")]
        for host in self.manifest.hosts:
            services = ", ".join(f"{s.port}/{s.protocol or '-'}" + (" (Debian daemon)" if s.daemon else "")
                                 + ("" if s.behaviour == NORMAL else f" ({s.behaviour})")
                                 for s in host.services)
            kind = "" if host.behaviour == NORMAL else f" [{host.behaviour}]"
            lines.append(f"  {host.address:<15} {host.node:<5}{kind} {services}")
        return "\n".join(lines)

    # -- teardown --

    def down(self) -> None:
        """Stop everything of this run; safe to call twice and after a failed `up`."""
        previous = {}
        if in_main_thread():
            # A second Ctrl-C must not abandon a half-removed network.
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                previous[signum] = signal.signal(signum, signal.SIG_IGN)
        try:
            # Runners stop their real daemons first, which may take a database some seconds.
            has_daemons = any(service.daemon for _, _, service in self.manifest.targets())
            stop_processes(self._runner_pids, grace=DAEMON_STOP_GRACE_SECONDS if has_daemons else STOP_GRACE_SECONDS)
            self._runner_pids.clear()
            if self.net is not None:
                with contextlib.suppress(Exception):
                    self.net.stop()
                self.net = None
            if self.state is not None:
                # Whatever net.stop() missed (or never created), found by what state.json
                # recorded, including scans that `lzr-sim scan` started from another process.
                with contextlib.suppress(OSError, ValueError, TypeError):
                    self.state = RunState.load(self.directory)
                remove_run(self.state)
                self.state = None
            delete_links(self.run_id)
            for log in self.directory.glob("services-*.log"):
                if log.stat().st_size == 0:
                    log.unlink()  # keep only the logs that say something
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self._restore_signal_handlers()


def lab_topology(manifest: Manifest, run_id: str):
    """The Mininet topology of the manifest, after checking its hosts fit the address plan."""
    from lzr_sim.topologies import addresses

    if manifest.topology == "sparse":
        from lzr_sim.topologies.sparse import SparseTopo
        live: dict[int, list[str]] = {}
        for host in manifest.hosts:
            index = int(host.node[1:]) - 1 if re.fullmatch(r"p[1-9][0-9]?", host.node) else -1
            if index < 0 or ipaddress.ip_address(host.address) not in addresses.sparse_prefix(index):
                raise HarnessError(f"sparse host {host.name}: node must be pK and its address inside pK's "
                                   f"prefix (p1: {addresses.sparse_prefix(0)}, p2: {addresses.sparse_prefix(1)}, ...)")
            live.setdefault(index, []).append(host.address)
        return SparseTopo(hosts=max(live) + 1, live=live, run_id=run_id)
    segment = addresses.TARGET_NET
    reserved = {addresses.ROUTER_TARGET_IP, addresses.LAN_SCANNER_IP, str(segment.network_address),
                str(segment.broadcast_address)}
    targets = []
    for host in manifest.hosts:
        if not re.fullmatch(r"[a-z][a-z0-9]{0,5}", host.node) or host.node in ("sc", "rt", "s0", "s1"):
            raise HarnessError(f"host {host.name}: node name {host.node!r} must be 1-6 lowercase letters "
                               "or digits, starting with a letter, and not sc, rt, s0 or s1")
        if ipaddress.ip_address(host.address) not in segment or host.address in reserved:
            raise HarnessError(f"host {host.name}: address {host.address} must be inside {segment} "
                               f"and not one of {sorted(reserved)}")
        targets.append((host.node, host.address))
    if len({node for node, _ in targets}) != len(targets):
        raise HarnessError(f"{manifest.topology} topology: one address per node")
    if manifest.topology == "lan":
        from lzr_sim.topologies.lan import LanTopo
        return LanTopo(targets=targets, run_id=run_id)
    from lzr_sim.topologies.routed import RoutedTopo
    return RoutedTopo(targets=targets, run_id=run_id)


def node_behaviours(manifest: Manifest, loss: float = 0.0, delay_ms: float = 0.0) -> dict[str, list[Behaviour]]:
    """The behaviours each node needs beyond its services runner, from the registry of
    `lzr_sim.behaviours`: its hosts' and ports' hard cases, then loss and delay on every node
    that answers for a host.

    Resets and slow banners are runner entries (lzr_sim.runners), not behaviours here. Rules are
    never removed one by one: they vanish with the node's namespace.
    """
    found: dict[str, list[Behaviour]] = {}
    for host in manifest.hosts:
        targets = [(host.behaviour, None)] + [(service.behaviour, service.port) for service in host.services]
        for name, port in targets:
            behaviour = BEHAVIOURS[name].for_target(port) if name != NORMAL else None
            if behaviour is not None:
                found.setdefault(host.node, []).append(behaviour)
    for node in manifest.nodes():
        if loss:
            found.setdefault(node, []).append(Loss(probability=loss))
        if delay_ms:
            found.setdefault(node, []).append(Delay(milliseconds=delay_ms))
    return found
