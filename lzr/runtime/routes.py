"""Where frames to a target go: outgoing interface, source address and next hop's MAC.

The kernel already knows all of it. `resolve_route` asks it with `ip -j route get` (the route
the kernel itself would use) and looks the next hop up in the neighbour table; it sends
nothing. When the next hop's MAC is not in the table, `resolve_neighbour` asks the kernel to
resolve it (ARP for IPv4, NDP for IPv6) with `ip neigh replace ADDR dev IF use`, the
netlink NTF_USE request that makes the kernel probe exactly as it would before its own first
packet, and waits for the answer. That probe is the only packet this module ever causes, and
only when the caller asks for it.

Frames to a target behind a gateway all go to the gateway's MAC; on a directly connected
subnet (no gateway) every target is its own next hop and is resolved on its own.
"""
from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import time
from dataclasses import dataclass

# Neighbour states whose link-layer address may be used (ip-neighbour(8)).
USABLE_STATES = {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"}


class RouteError(RuntimeError):
    """No route to a target, or an interface that does not exist."""


@dataclass(frozen=True)
class Route:
    interface: str
    source_addr: str | None        # the kernel's preferred source address, if it names one
    gateway: str | None            # None: the target is on a directly connected subnet
    next_hop_mac: bytes | None     # None: not in the neighbour table (see resolve_neighbour)
    interface_index: int
    interface_mac: bytes
    target: str

    @property
    def next_hop(self) -> str:
        """The address whose MAC frames to this target carry: the gateway, else the target."""
        return self.gateway or self.target


def _ip_json(*argv: str) -> list[dict]:
    result = subprocess.run(["ip", "-j", *argv], capture_output=True, text=True)
    if result.returncode != 0:
        raise RouteError(f"ip {' '.join(argv)}: {result.stderr.strip()}")
    return json.loads(result.stdout or "[]")


def mac_bytes(text: str) -> bytes:
    """ "52:3a:9a:d1:c9:08" -> 6 bytes."""
    return bytes.fromhex(text.replace(":", ""))


def interface_mac(ifname: str) -> bytes:
    try:
        with open(f"/sys/class/net/{ifname}/address") as address:
            return mac_bytes(address.read().strip())
    except FileNotFoundError:
        raise RouteError(f"no interface named {ifname!r}") from None


def interface_index(ifname: str) -> int:
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        raise RouteError(f"no interface named {ifname!r}") from None


def resolve_route(addr_text: str) -> Route:
    """The kernel's route to `addr_text`, with the next hop's MAC if the kernel knows it."""
    target = ipaddress.ip_address(addr_text).compressed
    try:
        entry = _ip_json("route", "get", target)[0]
    except RouteError as error:
        raise RouteError(f"no route to {target}: {error}") from None
    interface = entry["dev"]
    gateway = entry.get("gateway")
    return Route(interface=interface, source_addr=entry.get("prefsrc"), gateway=gateway,
                 next_hop_mac=neighbour_mac(interface, gateway or target),
                 interface_index=interface_index(interface), interface_mac=interface_mac(interface),
                 target=target)


def neighbour_table(interface: str) -> dict[str, bytes]:
    """Every usable entry of the neighbour table of one interface: address -> MAC."""
    table = {}
    for entry in _ip_json("neigh", "show", "dev", interface):
        if "lladdr" in entry and USABLE_STATES.intersection(entry.get("state", [])):
            table[ipaddress.ip_address(entry["dst"]).compressed] = mac_bytes(entry["lladdr"])
    return table


def neighbour_mac(interface: str, addr_text: str) -> bytes | None:
    """The MAC of `addr_text` from the neighbour table of `interface`; None if unknown."""
    target = ipaddress.ip_address(addr_text).compressed
    for entry in _ip_json("neigh", "show", "to", target, "dev", interface):
        if "lladdr" in entry and USABLE_STATES.intersection(entry.get("state", [])):
            return mac_bytes(entry["lladdr"])
    return None


def resolve_neighbour(interface: str, addr_text: str, timeout: float = 3.0) -> bytes | None:
    """The MAC of `addr_text`, asking the kernel to resolve it if the table lacks it.

    Returns None when nothing answered within `timeout` seconds.
    """
    target = ipaddress.ip_address(addr_text).compressed
    mac = neighbour_mac(interface, target)
    if mac is not None:
        return mac
    result = subprocess.run(["ip", "neigh", "replace", target, "dev", interface, "use"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RouteError(f"cannot resolve {target} on {interface}: {result.stderr.strip()}")
    # Answers on a LAN take well under a millisecond, a silent address the whole timeout:
    # poll quickly at first, then back off so silent targets cost few `ip` runs.
    deadline = time.monotonic() + timeout
    pause = 0.002
    while time.monotonic() < deadline:
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        mac = neighbour_mac(interface, target)
        if mac is not None:
            return mac
        pause = min(pause * 2, 0.2)
    return None
