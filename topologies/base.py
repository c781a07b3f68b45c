"""What every topology shares: the address plan, run-id naming and the node kinds.

Address plan (all inside 198.18.0.0/15, the range reserved for network benchmarks, so a scan
of it needs `lzr --allow-reserved` and can never be mistaken for a real target):

    198.18.0.0/16      target segment: router .0.1, target hosts from .0.10 upwards
    198.19.0.0/17      sparse prefixes, one /20 per answering host
    198.19.255.0/24    scanner segment: router .1, scanner .10

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

from mininet.node import Host, Node
from mininet.topo import Topo

TARGET_NET = ipaddress.ip_network("198.18.0.0/16")
SPARSE_SUPERNET = ipaddress.ip_network("198.19.0.0/17")
SCANNER_NET = ipaddress.ip_network("198.19.255.0/24")
ROUTER_TARGET_IP = "198.18.0.1"
ROUTER_SCANNER_IP = "198.19.255.1"
SCANNER_IP = "198.19.255.10"
FIRST_TARGET_OFFSET = 10
SPARSE_PREFIXLEN = 20
# The scan covers the whole lab range; used for `--allow-reserved` sanity checks by callers.
LAB_NET = ipaddress.ip_network("198.18.0.0/15")

RUN_ID_LENGTH = 4
_RUN_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_run_id() -> str:
    """A fresh run id: a letter then three letters/digits, e.g. `k3f9`.

    Names stay within 15 characters: `k3f9h250-eth0` is 13.
    """
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(_RUN_ID_ALPHABET) for _ in range(RUN_ID_LENGTH - 1))


def target_address(index: int) -> str:
    """Address of the index-th target host (0-based) on the target segment."""
    address = TARGET_NET.network_address + FIRST_TARGET_OFFSET + index
    if address >= TARGET_NET.broadcast_address:
        raise ValueError(f"target index {index} does not fit in {TARGET_NET}")
    return str(address)


def sparse_prefix(index: int) -> ipaddress.IPv4Network:
    """The index-th /20 of the sparse range (0-based): the prefix one sparse host answers for."""
    prefixes = SPARSE_SUPERNET.subnets(new_prefix=SPARSE_PREFIXLEN)
    for position, prefix in enumerate(prefixes):
        if position == index:
            return prefix
    raise ValueError(f"sparse prefix index {index} does not fit in {SPARSE_SUPERNET}")


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

