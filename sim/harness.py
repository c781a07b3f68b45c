"""Build an emulated population, scan it with `lzr`, and always tear it down.

    with SimNetwork(generate("unexpected", hosts=30, seed=1)) as net:
        records = net.scan(["-handshakes", "wait,http,tls"])

Life of a run:

1. A run id (`topologies.base.new_run_id`) names every node, bridge and link. The run
   directory `<run root>/<run id>/` gets `state.json` with the pid of the owning process
   before anything is created, so the next run finds and removes the leftovers of a run that
   was killed (`cleanup_stale`).
2. Mininet builds the topology (LinuxBridge, no controller). The scanner's only route is the
   router, which has no route out; nothing links to the root namespace's interfaces.
3. Services: one runner (`sim.services.serve`) per answering node, forked from this process
   after the imports and the TLS certificates are ready, entering the node's network
   namespace itself; cheaper than a fresh interpreter per host (see docs/sim.md).
4. Behaviours (zero window, ACKing firewall, loss, delay, ...) from `sim.behaviours`, as commands
   run inside the node.
5. `scan(flags)` runs `lzr` inside the scanner host (nsenter into its namespace) and returns
   its JSON records. `lzr-sim scan` does the same from another process, using state.json.
6. Teardown (exit of the `with`, SIGTERM/SIGHUP/Ctrl-C, or an exception): processes by pid,
   then Mininet's own `net.stop()`, then any root-namespace link still carrying the run id.
   Never Mininet's global cleanup: it would hit other runs and other software.
"""
from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from lzr.runtime.netns import enter_netns
from sim.manifest import Manifest

RUN_ROOT_ENV = "LZR_SIM_RUN_DIR"
STATE_FILE = "state.json"
SLOW_BANNER_SECONDS = 2.0
SERVICE_READY_TIMEOUT = 60.0
STOP_GRACE_SECONDS = 3.0


class HarnessError(RuntimeError):
    """The emulated network could not be built or used; the message says what failed."""


def run_root() -> Path:
    """Where run directories live: $LZR_SIM_RUN_DIR, else lzr-sim under the temp directory."""
    return Path(os.environ.get(RUN_ROOT_ENV) or Path(tempfile.gettempdir()) / "lzr-sim")


# --- processes, identified by (pid, start time) so a recycled pid is never killed ----------

def process_start(pid: int) -> int | None:
    """The kernel's start time of `pid` (clock ticks since boot), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may contain spaces, so split after its ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_alive(pid: int, start: int | None) -> bool:
    """`pid` runs (not a zombie) and, when `start` is given, is still the process we recorded."""
    current = process_start(pid)
    return current is not None and (start is None or current == start) and not _is_zombie(pid)


def stop_processes(processes: list[tuple[int, int | None]], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to all, SIGKILL to those still running after `grace` seconds.

    Each process is (pid, start time); a pid whose start time changed is someone else's now
    and is left alone.
    """
    running = [(pid, start) for pid, start in processes if process_alive(pid, start)]
    for pid, _ in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        for pid, _ in running:
            _reap(pid)
        running = [(pid, start) for pid, start in running if process_alive(pid, start)]
        time.sleep(0.02)
    for pid, _ in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _reap(pid, block=True)
    # A runner that had already exited on its own is a zombie until collected.
    for pid, _ in processes:
        _reap(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _reap(pid: int, block: bool = False) -> None:
    """Collect our own child's exit status (no-op for processes that are not our children)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0 if block else os.WNOHANG)


# --- links of a run, found by name ---------------------------------------------------------

def run_links(run_id: str) -> list[str]:
    """Root-namespace links and bridges whose name starts with the run id."""
    output = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = []
    for line in output.splitlines():
        parts = line.split(": ", 2)
        if len(parts) >= 2:
            name = parts[1].split("@")[0]
            if name.startswith(run_id):
                names.append(name)
    return names


def delete_links(run_id: str) -> None:
    # Bridges first (deleting a bridge frees its ports), then whatever veth ends remain.
    for name in sorted(run_links(run_id), key=lambda n: "-eth" in n):
        subprocess.run(["ip", "link", "del", name], capture_output=True)


# --- run state ------------------------------------------------------------------------------

@dataclass
class RunState:
    """What `lzr-sim scan/down` and the next `up` need to know about a run (state.json)."""
    run_id: str
    owner_pid: int
    owner_start: int | None
    directory: str
    topology: str = ""
    scanner: dict | None = None       # pid (of its shell), start, address, interface, gateway_mac
    processes: list | None = None     # [pid, start] of everything started inside the network
    nodes: dict | None = None         # node name (h1, p1, sc, rt) -> pid of its shell
    ready: bool = False

    @property
    def path(self) -> Path:
        return Path(self.directory) / STATE_FILE

    def save(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.__dict__, indent=1) + "\n")
        temporary.replace(self.path)

    @classmethod
    def load(cls, directory: Path) -> "RunState":
        return cls(**json.loads((directory / STATE_FILE).read_text()))

    def owner_alive(self) -> bool:
        return process_alive(self.owner_pid, self.owner_start)


def list_runs(root: Path | None = None) -> list[RunState]:
    root = root or run_root()
    runs = []
    for state_file in sorted(root.glob(f"*/{STATE_FILE}")):
        with contextlib.suppress(OSError, ValueError, TypeError):
            runs.append(RunState.load(state_file.parent))
    return runs


def remove_run(state: RunState) -> None:
    """Remove everything of a run whose owner is gone: processes, links, its state file."""
    processes = [tuple(p) for p in state.processes or []]
    if state.scanner:
        processes.append((state.scanner["pid"], state.scanner.get("start")))
    stop_processes(processes, grace=0.5)
    delete_links(state.run_id)
    with contextlib.suppress(FileNotFoundError):
        state.path.unlink()


def cleanup_stale(root: Path | None = None) -> list[str]:
    """Remove the leftovers of every run whose owning process died; returns their run ids."""
    removed = []
    for state in list_runs(root):
        if not state.owner_alive():
            remove_run(state)
            removed.append(state.run_id)
    return removed


# --- services runners forked into a node's network namespace -------------------------------

def _fork_runner(netns_pid: int, spec: list[dict], log_path: Path) -> tuple[int, int]:
    """Fork a services runner inside the namespace of `netns_pid`; returns (pid, stdout fd)."""
    from sim.services import serve

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into the caller's code
        status = 1
        try:
            os.setsid()  # a terminal's Ctrl-C goes to the harness, which stops us in order
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            enter_netns(netns_pid)
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(write_end, 1)
            os.dup2(log, 2)
            os.closerange(3, 65536)  # Mininet's ptys and the other runners' pipes
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            status = serve.main(["--spec-json", json.dumps({"services": spec})])
        except BaseException as error:  # report anything, then leave without unwinding the parent's stack
            with contextlib.suppress(Exception):
                os.write(1, f"FAILED {error!r}\n".encode())
        finally:
            os._exit(status)  # skip atexit: the parent owns the shared certificate directory
    os.close(write_end)
    return pid, read_end


def _prepare_services(protocols: set[str]) -> None:
    """Import the services and make their TLS certificates once, before forking the runners."""
    from sim.services import SERVICES
    unknown = sorted(protocols - set(SERVICES))
    if unknown:
        raise HarnessError(f"no synthetic service for {', '.join(unknown)}; known: {', '.join(sorted(SERVICES))}")
    for protocol in protocols:
        service = SERVICES[protocol]()
        if service.uses_tls:
            service.ssl_context()


def _wait_ready(runners: dict[str, tuple[int, int]], timeout: float) -> None:
    """Wait for every runner's READY line; raise with the node's reason otherwise."""
    pending = {fd: node for node, (_, fd) in runners.items()}
    buffers = {fd: b"" for fd in pending}
    deadline = time.monotonic() + timeout
    try:
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError(f"services not ready after {timeout:.0f} s on {sorted(pending.values())}")
            readable, _, _ = select.select(list(pending), [], [], left)
            for fd in readable:
                chunk = os.read(fd, 4096)
                buffers[fd] += chunk
                line = buffers[fd].split(b"\n", 1)[0].decode(errors="replace")
                if line.startswith("READY"):
                    del pending[fd]
                elif line.startswith("FAILED") or not chunk:
                    raise HarnessError(f"services on {pending[fd]} failed: {line or 'runner exited'}")
    finally:
        for _, fd in runners.values():
            os.close(fd)


# --- the network ----------------------------------------------------------------------------

def lzr_command() -> list[str]:
    """The `lzr` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("lzr")
    if script.exists():
        return [str(script)]
    found = shutil.which("lzr")
    if found is None:
        raise HarnessError("the `lzr` command is not installed (pip install -e .)")
    return [found]


def scan_command(scanner: dict, flags: list[str], output: Path) -> list[str]:
    """The argv that runs `lzr` in the scanner's namespace with the lab's fixed flags first."""
    fixed = ["-sendSYNs", "-sourceIP", scanner["address"], "-sendInterface", scanner["interface"],
             "-f", str(output), "-rate", "100000", "--allow-reserved"]
    if scanner.get("gateway_mac"):
        fixed += ["-gatewayMac", scanner["gateway_mac"]]
    return in_namespace(scanner["pid"], [*lzr_command(), *fixed, *flags])


def in_namespace(pid: int, argv: list[str]) -> list[str]:
    """argv run in the network namespace of `pid`, with a /sys that shows that namespace.

    Like `ip netns exec`: a private mount namespace with sysfs mounted afresh, so tools that
    look up interfaces under /sys/class/net see the node's interfaces, not the root's.
    """
    return ["nsenter", "-t", str(pid), "-n", "--", "unshare", "--mount", "--propagation", "private", "--",
            "sh", "-c", 'mount -t sysfs sysfs /sys && exec "$@"', "sh", *argv]


def run_scan(scanner: dict, targets: list[tuple[str, int]], flags: list[str], output: Path,
             timeout: float = 600.0, run_directory: Path | None = None) -> list[dict]:
    """Scan `targets` with `lzr` inside the scanner's namespace; returns its records.

    run_directory: when the scan runs in another process than the run's owner (`lzr-sim
    scan`), the scanner's pid goes into that run's state.json, so tearing the run down also
    stops a scan still in progress.
    """
    from sim.report import load_records

    output.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        output.unlink()  # lzr appends, as LZR does; a scan starts from an empty file
    stdin = "".join(f"{address};{port}\n" for address, port in targets)
    command = scan_command(scanner, flags, output)
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    if run_directory is not None:
        state = RunState.load(run_directory)
        state.processes.append([process.pid, process_start(process.pid)])
        state.save()
    try:
        _, stderr = process.communicate(stdin, timeout=timeout)
    except BaseException:
        # Timeout or Ctrl-C: stop the whole scanner (its process group), then re-raise.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        raise
    if process.returncode != 0:
        raise HarnessError(f"lzr exited with {process.returncode}: {stderr.strip()[-2000:]}")
    return load_records(output) if output.exists() else []


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
        from topologies.base import new_run_id

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
        if not _in_main_thread():
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
        self.state = RunState(self.run_id, os.getpid(), process_start(os.getpid()), str(self.directory),
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
        self.net = Mininet(topo=self._topology(), switch=LinuxBridge, controller=None,
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

    def _topology(self):
        """The Mininet topology of the manifest, after checking its hosts fit the address plan."""
        from topologies import addresses

        if self.manifest.topology == "sparse":
            from topologies.sparse import SparseTopo
            live: dict[int, list[str]] = {}
            for host in self.manifest.hosts:
                index = int(host.node[1:]) - 1 if re.fullmatch(r"p[1-9][0-9]?", host.node) else -1
                if index < 0 or ipaddress.ip_address(host.address) not in addresses.sparse_prefix(index):
                    raise HarnessError(f"sparse host {host.name}: node must be pK and its address inside pK's "
                                       f"prefix (p1: {addresses.sparse_prefix(0)}, p2: {addresses.sparse_prefix(1)}, ...)")
                live.setdefault(index, []).append(host.address)
            return SparseTopo(hosts=max(live) + 1, live=live, run_id=self.run_id)
        segment = addresses.TARGET_NET
        reserved = {addresses.ROUTER_TARGET_IP, addresses.LAN_SCANNER_IP, str(segment.network_address),
                    str(segment.broadcast_address)}
        targets = []
        for host in self.manifest.hosts:
            if not re.fullmatch(r"[a-z][a-z0-9]{0,5}", host.node) or host.node in ("sc", "rt", "s0", "s1"):
                raise HarnessError(f"host {host.name}: node name {host.node!r} must be 1-6 lowercase letters "
                                   "or digits, starting with a letter, and not sc, rt, s0 or s1")
            if ipaddress.ip_address(host.address) not in segment or host.address in reserved:
                raise HarnessError(f"host {host.name}: address {host.address} must be inside {segment} "
                                   f"and not one of {sorted(reserved)}")
            targets.append((host.node, host.address))
        if len({node for node, _ in targets}) != len(targets):
            raise HarnessError(f"{self.manifest.topology} topology: one address per node")
        if self.manifest.topology == "lan":
            from topologies.lan import LanTopo
            return LanTopo(targets=targets, run_id=self.run_id)
        from topologies.routed import RoutedTopo
        return RoutedTopo(targets=targets, run_id=self.run_id)

    def node(self, name: str):
        """The Mininet host of a manifest node name (`h3`, `p1`) or role (`sc`, `rt`)."""
        return self.net.get(f"{self.run_id}{name}")

    def _record_shells(self) -> None:
        scanner = self.node("sc")
        router = self.net.nameToNode.get(f"{self.run_id}rt")
        self.state.scanner = {
            "pid": scanner.pid, "start": process_start(scanner.pid),
            "address": scanner.IP(), "interface": scanner.defaultIntf().name,
            "gateway_mac": router.intf(f"{router.name}-eth0").MAC() if router else None,
        }
        self.state.processes = [[host.pid, process_start(host.pid)] for host in self.net.hosts]
        self.state.nodes = {host.name[len(self.run_id):]: host.pid for host in self.net.hosts}
        self.state.save()

    def _start_services(self) -> None:
        specs = {}
        for host in self.manifest.hosts:
            if host.behaviour in ("zero-window", "acking-firewall"):
                continue  # the whole host is the hard case; nothing listens
            for service in host.services:
                specs.setdefault(host.node, []).append(_runner_entry(host.address, service))
        if not specs:
            return
        _prepare_services({entry["protocol"] for spec in specs.values() for entry in spec
                           if entry.get("protocol")})
        runners = {}
        for node, spec in specs.items():
            pid, fd = _fork_runner(self.node(node).pid, spec, self.directory / f"services-{node}.log")
            self._runner_pids.append((pid, process_start(pid)))
            runners[node] = (pid, fd)
        self.state.processes += [list(p) for p in self._runner_pids]
        self.state.save()
        _wait_ready(runners, SERVICE_READY_TIMEOUT)

    def _apply_behaviours(self) -> None:
        for host in self.manifest.hosts:
            behaviours = _behaviours_of(host, self.loss, self.delay_ms)
            if not behaviours:
                continue
            node = self.node(host.node)
            for behaviour in behaviours:
                behaviour.install(node)
                # The behaviour's helper process (NFQUEUE program, silent listener), if any,
                # is stopped by pid like every other process of the run.
                pid = behaviour.daemon_pid
                if pid is not None:
                    self._runner_pids.append((pid, process_start(pid)))
                    self.state.processes.append([pid, process_start(pid)])
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
            services = ", ".join(f"{s.port}/{s.protocol or '-'}" + ("" if s.behaviour == "normal" else f" ({s.behaviour})")
                                 for s in host.services)
            kind = "" if host.behaviour == "normal" else f" [{host.behaviour}]"
            lines.append(f"  {host.address:<15} {host.node:<5}{kind} {services}")
        return "\n".join(lines)

    # -- teardown --

    def down(self) -> None:
        """Stop everything of this run; safe to call twice and after a failed `up`."""
        previous = {}
        if _in_main_thread():
            # A second Ctrl-C must not abandon a half-removed network.
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                previous[signum] = signal.signal(signum, signal.SIG_IGN)
        try:
            stop_processes(self._runner_pids)
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


def _behaviours_of(host, loss: float, delay_ms: float) -> list:
    """The `sim.behaviours` a manifest host needs beyond its services runner.

    Resets and slow banners are runner options (`_runner_entry`), not behaviours here. Rules
    are never removed one by one: they vanish with the node's namespace.
    """
    if host.behaviour == "normal" and not (loss or delay_ms) and all(s.behaviour != "no-ack" for s in host.services):
        return []
    from sim import behaviours

    found = []
    if host.behaviour == "zero-window":
        found.append(behaviours.ZeroWindow())
    elif host.behaviour == "acking-firewall":
        found.append(behaviours.AckingFirewall())
    elif host.behaviour == "shun":
        found.append(behaviours.Shun())
    found += [behaviours.NeverAckData(port=s.port) for s in host.services if s.behaviour == "no-ack"]
    if loss:
        found.append(behaviours.Loss(probability=loss))
    if delay_ms:
        found.append(behaviours.Delay(milliseconds=delay_ms))
    return found


def _runner_entry(address: str, service) -> dict:
    """The services-runner spec entry of one manifest service."""
    entry = {"address": address, "port": service.port}
    if service.behaviour == "rst":
        entry["mode"] = "reset"
    elif service.behaviour == "no-ack" or service.protocol is None:
        entry["mode"] = "silent"
    else:
        entry["protocol"] = service.protocol
        if service.behaviour == "slow-banner":
            entry["banner_delay"] = SLOW_BANNER_SECONDS
    return entry


def _in_main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()
