"""Behaviours of a whole host: every port of it behaves so."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lzr_sim.behaviours.base import HOST, Behaviour, nfqueue_program, services_runner

ACK_LISTENER_PORT = 9  # the discard port: where an ACKing firewall's connections end up


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
    scope: ClassVar[str] = HOST
    expect: ClassVar[dict] = {"window": 0, "fingerprint": "unknown"}
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
        return nfqueue_program("zero-window", "--queue", str(self.queue), *listen)


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
    scope: ClassVar[str] = HOST
    expect: ClassVar[dict] = {"ackingFirewall": True}
    exclude_ports: tuple[int, ...] = ()
    listener_port: int = ACK_LISTENER_PORT

    def setup(self):
        match = (["-m", "multiport", "!", "--dports", ",".join(map(str, self.exclude_ports))]
                 if self.exclude_ports else [])
        return [self.iptables("nat", "PREROUTING", "-p", "tcp", *match,
                              "-j", "REDIRECT", "--to-ports", str(self.listener_port))]

    def daemon(self):
        return services_runner({"address": "::" if self.ipv6 else "0.0.0.0", "port": self.listener_port,
                                "mode": "silent", "connection_timeout": 600})


@dataclass
class Shun(Behaviour):
    """After a source's first connection is established, its new connections get no answer.

    Models the paper's connection shunning (§2.7): 1.6-5% of services do not SYN-ACK the
    scanner a second time (93% stay silent), while 70% answer a fresh source address. The
    `recent` match records a source when its first non-SYN segment (the handshake's ACK)
    arrives, and drops that source's SYNs for `seconds`. `port` limits it to one port
    (0: every port). Retransmitted SYNs of the first connection still pass. A first scan
    names the services; what a later one records is not definite.
    """

    name: ClassVar[str] = "shun"
    scope: ClassVar[str] = HOST
    keeps_service: ClassVar[bool] = True
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
