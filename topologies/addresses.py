"""The lab's address plan (no Mininet needed to use it).

All inside 198.18.0.0/15, the range reserved for network benchmarks, so a scan of it needs
`lzr --allow-reserved` and can never be mistaken for a real target:

    198.18.0.0/16      target segment: router .0.1, target hosts from .0.10 upwards
    198.19.0.0/17      sparse prefixes, one /20 per answering host
    198.19.255.0/24    scanner segment: router .1, scanner .10

In the `lan` topology (no router) the scanner sits on the target segment at 198.18.0.2.
"""
from __future__ import annotations

import ipaddress

LAB_NET = ipaddress.ip_network("198.18.0.0/15")
TARGET_NET = ipaddress.ip_network("198.18.0.0/16")
SPARSE_SUPERNET = ipaddress.ip_network("198.19.0.0/17")
SCANNER_NET = ipaddress.ip_network("198.19.255.0/24")
ROUTER_TARGET_IP = "198.18.0.1"
ROUTER_SCANNER_IP = "198.19.255.1"
SCANNER_IP = "198.19.255.10"
LAN_SCANNER_IP = "198.18.0.2"
FIRST_TARGET_OFFSET = 10
SPARSE_PREFIXLEN = 20


def target_address(index: int) -> str:
    """Address of the index-th target host (0-based) on the target segment."""
    address = TARGET_NET.network_address + FIRST_TARGET_OFFSET + index
    if address >= TARGET_NET.broadcast_address:
        raise ValueError(f"target index {index} does not fit in {TARGET_NET}")
    return str(address)


def default_targets(hosts: int) -> list[tuple[str, str]]:
    """(node name, address) of `hosts` target hosts: h1 at 198.18.0.10, h2 at .11, ..."""
    return [(f"h{index + 1}", target_address(index)) for index in range(hosts)]


def sparse_prefix(index: int) -> ipaddress.IPv4Network:
    """The index-th /20 of the sparse range (0-based): the prefix one sparse host answers for."""
    count = 2 ** (SPARSE_PREFIXLEN - SPARSE_SUPERNET.prefixlen)
    if not 0 <= index < count:
        raise ValueError(f"sparse prefix index {index} does not fit in {SPARSE_SUPERNET}")
    size = 2 ** (32 - SPARSE_PREFIXLEN)
    return ipaddress.ip_network(f"{SPARSE_SUPERNET.network_address + index * size}/{SPARSE_PREFIXLEN}")
