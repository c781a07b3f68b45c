"""The hard cases of the LZR paper, applied to one emulated host.

Each behaviour is a small dataclass that says what to run inside the host's network
namespace, as argv lists, so it works the same for a NetnsLab host and a Mininet host:

* `setup()`    commands to run once, in order (iptables rules);
* `teardown()` commands that undo them;
* `daemon()`   a long-running program the behaviour needs (an NFQUEUE program or a service
               runner), or None; it prints one line starting READY when it is in place.

`install(host)` starts the daemon (waiting for its READY line) and runs the setup commands;
`remove(host)` runs the teardown commands and stops the daemon by its pid. Both only use
`host.popen(*argv, ...)`, which NetnsLab and Mininet hosts both offer. `applied(host, ...)`
is a context manager that installs behaviours and always removes them.

Every iptables rule carries the comment `lzr-sim:<tag>` with a tag unique to the behaviour
instance, so rules are removed exactly and leftovers are recognisable. IPv4 rules use
iptables, IPv6 rules ip6tables (`ipv6=True`). No netem: loss uses the `statistic` match and
delay an NFQUEUE program.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import select
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import IO, ClassVar, Iterator, Protocol

from sim.netns import stop_process

_instances = itertools.count()
ACK_LISTENER_PORT = 9  # the discard port: where an ACKing firewall's connections end up


class BehaviourError(RuntimeError):
    """A behaviour could not be installed; the message has the command and its output."""


class HostLike(Protocol):
    def popen(self, *argv: str, **kwargs) -> subprocess.Popen: ...


def _tag() -> str:
    return f"{os.getpid()}-{next(_instances)}"


def _services_runner(entry: dict) -> list[str]:
    return [sys.executable, "-m", "sim.services.serve", "--spec-json", json.dumps([entry])]


def _nfqueue_program(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim.behaviours.nfqueue", *args]


@dataclass
class Behaviour:
    """Base: subclasses override setup/teardown/daemon as they need."""

    name: ClassVar[str]
    ipv6: bool = False
    tag: str = field(default_factory=_tag)
    _daemon: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _daemon_errors: IO[str] | None = field(default=None, init=False, repr=False)

    def setup(self) -> list[list[str]]:
        return []

    def teardown(self) -> list[list[str]]:
        """By default: the deletion of every rule setup() appends, last first."""
        return [_deletion(argv) for argv in reversed(self.setup())]

    def daemon(self) -> list[str] | None:
        return None

    @property
    def daemon_pid(self) -> int | None:
        """The pid of the running daemon, for callers that account for their processes."""
        return self._daemon.pid if self._daemon is not None else None

    def iptables(self, table: str, chain: str, *rule: str) -> list[str]:
        """An iptables append command; the rule's comment (before its target, if any) names us."""
        command = "ip6tables" if self.ipv6 else "iptables"
        target = rule.index("-j") if "-j" in rule else len(rule)
        comment = ["-m", "comment", "--comment", f"lzr-sim:{self.name}:{self.tag}"]
        return [command, "-w", "-t", table, "-A", chain, *rule[:target], *comment, *rule[target:]]

    def install(self, host: HostLike, timeout: float = 20.0) -> None:
        argv = self.daemon()
        if argv is not None:
            # stderr goes to a file: a pipe nobody reads could fill up and stall the daemon.
            self._daemon_errors = tempfile.TemporaryFile("w+")
            self._daemon = host.popen(*argv, stdout=subprocess.PIPE, stderr=self._daemon_errors, text=True)
            line = _read_line(self._daemon, timeout)
            if not line.startswith("READY"):
                error = self._stop_daemon()
                raise BehaviourError(f"{self.name}: {' '.join(argv)} did not get ready: {line!r} {error}")
        done = []
        try:
            for argv in self.setup():
                _run(host, argv)
                done.append(argv)
        except BehaviourError:
            for argv in reversed(done):
                _run(host, _deletion(argv), check=False)
            self._stop_daemon()
            raise

    def remove(self, host: HostLike) -> None:
        for argv in self.teardown():
            _run(host, argv, check=False)
        self._stop_daemon()

    def _stop_daemon(self) -> str:
        """Stop our daemon (by pid); returns what it wrote on stderr."""
        proc, self._daemon = self._daemon, None
        if proc is None:
            return ""
        stop_process(proc, grace=10)
        proc.stdout.close()
        errors, self._daemon_errors = self._daemon_errors, None
        errors.seek(0)
        text = errors.read()
        errors.close()
        return text


def _deletion(argv: list[str]) -> list[str]:
    """The iptables command deleting the rule that `argv` appends."""
    return ["-D" if word == "-A" else word for word in argv]


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def _run(host: HostLike, argv: list[str], check: bool = True) -> None:
    proc = host.popen(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=30)
    if check and proc.returncode != 0:
        raise BehaviourError(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip() or out.strip()}")


@dataclass
class ZeroWindow(Behaviour):
    """SYN-ACKs (and every later segment) advertise a zero receive window.

    Models the LZR paper's zero-window hosts (§2.4, Fig. 3b): 5% of responsive services,
    13-26% of the hosts that never ACK data; 99.94% never open the window, and 99% do it on
    every port, like a SYN proxy in front of the host. By default (`ports` empty) the whole
    host is such a proxy: every TCP port is redirected (nat PREROUTING) to one port where
    the NFQUEUE program accepts and holds connections, so every port SYN-ACKs with window 0.
    With `ports` (at most 15) only segments from those local ports are rewritten and the
    host's own services answer there. The window is rewritten by the NFQUEUE program on
    OUTPUT with the checksum recomputed, so the kernel's TCP stack still runs the
    connections. NFQUEUE ends a packet's walk through OUTPUT, so do not combine it with
    `Delay` on one host.
    """

    name: ClassVar[str] = "zero-window"
    ports: tuple[int, ...] = ()
    queue: int = 1001
    listener_port: int = ACK_LISTENER_PORT

    def setup(self):
        rewrite = ["-m", "multiport", "--sports", ",".join(map(str, self.ports))] if self.ports else []
        rules = [self.iptables("filter", "OUTPUT", "-p", "tcp", *rewrite,
                               "-j", "NFQUEUE", "--queue-num", str(self.queue), "--queue-bypass")]
        if not self.ports:
            rules.append(self.iptables("nat", "PREROUTING", "-p", "tcp",
                                       "-j", "REDIRECT", "--to-ports", str(self.listener_port)))
        return rules

    def daemon(self):
        listen = [] if self.ports else ["--listen", str(self.listener_port),
                                        "--listen-address", "::" if self.ipv6 else "0.0.0.0"]
        return _nfqueue_program("zero-window", "--queue", str(self.queue), *listen)


@dataclass
class AckingFirewall(Behaviour):
    """Every TCP port accepts connections and ACKs data, and nothing ever answers.

    Models the paper's data-acknowledging firewalls (§3.1; F5 BIG-IP in front of whole
    networks): 2% of IPs with unidentifiable services on more than 60K ports, about 75% of
    the unidentifiable services on unpopular ports; what LZR's `-haf` detects. All
    connections are redirected (nat PREROUTING, REDIRECT) to one silent listener whose
    kernel ACKs whatever arrives. `exclude_ports` (at most 15) keep reaching their real
    services.
    """

    name: ClassVar[str] = "acking-firewall"
    exclude_ports: tuple[int, ...] = ()
    listener_port: int = ACK_LISTENER_PORT

    def setup(self):
        match = (["-m", "multiport", "!", "--dports", ",".join(map(str, self.exclude_ports))]
                 if self.exclude_ports else [])
        return [self.iptables("nat", "PREROUTING", "-p", "tcp", *match,
                              "-j", "REDIRECT", "--to-ports", str(self.listener_port))]

    def daemon(self):
        return _services_runner({"address": "::" if self.ipv6 else "0.0.0.0", "port": self.listener_port,
                                 "mode": "silent", "connection_timeout": 600})


@dataclass
class ResetAfterHandshake(Behaviour):
    """The port completes the handshake and at once tears the connection down with a RST.

    Models the paper's post-handshake resets (§2.5, Fig. 3b): 73% (popular ports) and 34%
    (unpopular) of the hosts that never ACK data, in 34% of ASes. A listener accepts and
    closes with SO_LINGER 0, so its kernel sends the RST.
    """

    name: ClassVar[str] = "reset"
    port: int = 0

    def daemon(self):
        return _services_runner({"address": "::" if self.ipv6 else "0.0.0.0", "port": self.port,
                                 "mode": "reset"})


@dataclass
class NeverAckData(Behaviour):
    """The port completes the handshake but never acknowledges data.

    Models the paper's hosts that SYN-ACK but drop everything after the handshake (§2.3:
    16-40% of SYN-ACKing services never ACK data; §2.6 "dynamic blocking after the
    handshake"). Incoming segments to `port` that carry at least one byte of payload are
    dropped (a u32 match on the TCP data offset and the packet length), so SYNs and pure
    ACKs pass and the connection opens. When the payload rides on the handshake's final ACK,
    as with LZR, the server stays in SYN-RECV and only retransmits its SYN-ACK. The service
    on the port is whatever the host runs there. IPv4 rules assume no IP options and IPv6
    rules no extension headers, which is what the emulated hosts send.
    """

    name: ClassVar[str] = "never-ack-data"
    port: int = 0

    def setup(self):
        # u32 tests: the IP header is plain (IPv4 byte 0 is 0x45; IPv6 next header, byte 6, is
        # TCP); `X>>26&0x3C` reads the TCP data offset in bytes and `@` moves by it; reading
        # the 4 bytes that end at the first payload byte then only succeeds if there is one.
        if self.ipv6:
            payload_test = "4>>8&0xFF=6&&52>>26&0x3C@37=0:0xFFFFFFFF"
        else:
            payload_test = "0>>24=0x45&&32>>26&0x3C@17=0:0xFFFFFFFF"
        return [self.iptables("filter", "INPUT", "-p", "tcp", "--dport", str(self.port),
                              "-m", "u32", "--u32", payload_test, "-j", "DROP")]


@dataclass
class SlowBanner(Behaviour):
    """A service that waits `delay` seconds after accepting before it says anything.

    Models slow servers that a short timeout misses (LZR's default `-t 5` waits 5 s for
    data; the paper's Algorithm 1 waits up to 100 s). The service runs with the runner's
    `banner_delay` option.
    """

    name: ClassVar[str] = "slow-banner"
    port: int = 0
    protocol: str = "ssh"
    delay: float = 6.0

    def daemon(self):
        return _services_runner({"address": "::" if self.ipv6 else "0.0.0.0", "port": self.port,
                                 "protocol": self.protocol, "banner_delay": self.delay})


@dataclass
class Shun(Behaviour):
    """After a source's first connection is established, its new connections get no answer.

    Models the paper's connection shunning (§2.7): 1.6-5% of services do not SYN-ACK the
    scanner a second time (93% stay silent), while 70% answer a fresh source address. The
    `recent` match records a source when its first non-SYN segment (the handshake's ACK)
    arrives, and drops that source's SYNs for `seconds`. `port` limits it to one port
    (0: every port). Retransmitted SYNs of the first connection still pass.
    """

    name: ClassVar[str] = "shun"
    port: int = 0
    seconds: int = 3600

    def setup(self):
        port = ["--dport", str(self.port)] if self.port else []
        recent = ["-m", "recent", "--name", f"lzrsim{self.tag.replace('-', '_')}"]
        return [
            self.iptables("filter", "INPUT", "-p", "tcp", "--syn", *port, *recent, "--rcheck",
                          "--seconds", str(self.seconds), "-j", "DROP"),
            self.iptables("filter", "INPUT", "-p", "tcp", "!", "--syn", *port, *recent, "--set"),
        ]


@dataclass
class Loss(Behaviour):
    """Each packet arriving at the host is dropped with probability `probability`.

    Models lossy paths (the paper's "dropped mid-handshake" hosts, §2.4, average 7.8 SYN-ACK
    retransmissions; the 3%-loss accuracy gate of tests/e2e/test_sim_scan.py). iptables
    `statistic` in random mode on INPUT (loopback excepted), so both the scanner's SYNs
    and its probes get lost.
    """

    name: ClassVar[str] = "loss"
    probability: float = 0.03

    def setup(self):
        if not 0.0 < self.probability < 1.0:
            raise BehaviourError(f"loss probability must be in (0, 1): {self.probability}")
        return [self.iptables("filter", "INPUT", "!", "-i", "lo", "-m", "statistic", "--mode", "random",
                              "--probability", f"{self.probability:.6f}", "-j", "DROP")]


@dataclass
class Delay(Behaviour):
    """Every packet the host sends leaves `milliseconds` late.

    Models long paths and slow middleboxes (the reason LZR retransmits after `-rt` and waits
    `-t`). An NFQUEUE program on OUTPUT (loopback excepted) holds each packet for the delay;
    order is kept. Round trips through the host grow by at least the delay.
    """

    name: ClassVar[str] = "delay"
    milliseconds: float = 100.0
    queue: int = 1002

    def setup(self):
        return [self.iptables("filter", "OUTPUT", "!", "-o", "lo", "-j", "NFQUEUE",
                              "--queue-num", str(self.queue), "--queue-bypass")]

    def daemon(self):
        return _nfqueue_program("delay", "--queue", str(self.queue), "--ms", str(self.milliseconds))


BEHAVIOURS: dict[str, type[Behaviour]] = {
    cls.name: cls for cls in (ZeroWindow, AckingFirewall, ResetAfterHandshake, NeverAckData, SlowBanner,
                              Shun, Loss, Delay)
}


@contextlib.contextmanager
def applied(host: HostLike, *behaviours: Behaviour) -> Iterator[tuple[Behaviour, ...]]:
    """Install `behaviours` on `host` for the body; all are removed afterwards, also on error."""
    installed: list[Behaviour] = []
    try:
        for behaviour in behaviours:
            behaviour.install(host)
            installed.append(behaviour)
        yield behaviours
    finally:
        for behaviour in reversed(installed):
            behaviour.remove(host)
