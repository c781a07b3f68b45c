"""What every topology shares: run-id naming and the node kinds (the address plan is in
`addresses`).

Nothing in a topology links to the root namespace's interfaces, no node has a route out of
the lab, and the router only knows its connected segments (plus the sparse prefixes), so a
packet addressed anywhere else is dropped inside the lab.

Every node name starts with a run id. Mininet names interfaces `<node>-eth<n>`, and Linux
allows 15 characters, so run ids are short (see `new_run_id`).
"""
from __future__ import annotations

import ipaddress
import secrets
import string

from mininet.node import Node
from mininet.topo import Topo

from .addresses import (ROUTER_SCANNER_IP, ROUTER_TARGET_IP, SCANNER_IP, SCANNER_NET,
                                  TARGET_NET)

RUN_ID_LENGTH = 4
_RUN_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_run_id() -> str:
    """A fresh run id: a letter then three letters/digits, e.g. `k3f9`.

    Names stay within 15 characters: `k3f9h250-eth0` is 13.
    """
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(_RUN_ID_ALPHABET) for _ in range(RUN_ID_LENGTH - 1))


def plen(network: ipaddress.IPv4Network) -> str:
    return f"/{network.prefixlen}"


class Router(Node):
    """A host that forwards between its segments and knows no other route."""

    def config(self, routes=(), **params):
        """routes: (prefix, next hop) pairs beyond the connected segments (sparse prefixes)."""
        result = super().config(**params)
        self.cmd("sysctl -qw net.ipv4.ip_forward=1")
        # Both segments hang off this router; redirects would only confuse the scanner.
        self.cmd("sysctl -qw net.ipv4.conf.all.send_redirects=0")
        for prefix, via in routes:
            self.cmd("ip route add", prefix, "via", via)
        return result

    def terminate(self):
        self.cmd("sysctl -qw net.ipv4.ip_forward=0")
        super().terminate()


class LabTopo(Topo):
    """Base of the lab topologies: node names carry `run_id`; subclasses add the nodes."""

    def __init__(self, *args, run_id: str | None = None, **params):
        self.run_id = run_id or new_run_id()
        super().__init__(*args, **params)

    def name(self, suffix: str) -> str:
        return f"{self.run_id}{suffix}"

    def add_scanner_behind_router(self, target_switch: str, routes=()) -> None:
        """Scanner segment + router: the scanner's only route is the router, which has no way out."""
        router = self.addHost(self.name("rt"), cls=Router, ip=None, routes=list(routes))
        scanner_switch = self.addSwitch(self.name("s0"))
        scanner = self.addHost(self.name("sc"), ip=SCANNER_IP + plen(SCANNER_NET),
                               defaultRoute=f"via {ROUTER_SCANNER_IP}")
        self.addLink(scanner, scanner_switch)
        self.addLink(router, scanner_switch,
                     params1={"ip": ROUTER_SCANNER_IP + plen(SCANNER_NET)})
        self.addLink(router, target_switch,
                     params1={"ip": ROUTER_TARGET_IP + plen(TARGET_NET)})

