"""What the kernel knows about the network: routes, neighbours, interfaces and their addresses.

Every question lzr asks the kernel's tables is here, through one `ip -j` runner that raises
`RouteError` when `ip` fails. Nothing here sends a packet except `ask_to_resolve` (and
`resolve_neighbour`, which calls it): the netlink NTF_USE request `ip neigh replace ADDR dev
IF use`, which makes the kernel probe (ARP for IPv4, NDP for IPv6) exactly as it would before
its own first packet to that address.

`resolve_route` asks `ip -j route get` for the route the kernel itself would use and looks the
next hop up in the neighbour table. Frames to a target behind a gateway all go to the
gateway's MAC; on a directly connected subnet (no gateway) every target is its own next hop
and is resolved on its own.

Interface lookups use the socket API (an ioctl, `if_nametoindex`), not /sys: they answer for
the network namespace of the calling thread, also in a thread that joined another namespace.
"""
from __future__ import annotations

import fcntl
import ipaddress
import json
import socket
import struct
import subprocess
import time
from dataclasses import dataclass

# Neighbour states whose link-layer address may be used (ip-neighbour(8)).
USABLE_STATES = {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"}
SIOCGIFHWADDR = 0x8927


class RouteError(RuntimeError):
    """No route to a target, an interface that does not exist, or `ip` failed."""


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


def ip_json(*argv: str) -> list[dict]:
    """`ip -j ARGV...` as parsed JSON; RouteError with ip's message if it fails."""
    result = subprocess.run(["ip", "-j", *argv], capture_output=True, text=True)
    if result.returncode != 0:
        raise RouteError(f"ip {' '.join(argv)}: {result.stderr.strip()}")
    return json.loads(result.stdout or "[]")


def mac_bytes(text: str) -> bytes:
    """ "52:3a:9a:d1:c9:08" -> 6 bytes."""
    return bytes.fromhex(text.replace(":", ""))


# -- interfaces --------------------------------------------------------------------------------

def interface_mac(ifname: str) -> bytes:
    """The hardware address of `ifname` in the calling thread's network namespace."""
    request = struct.pack("16s16x", ifname.encode())
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            reply = fcntl.ioctl(probe.fileno(), SIOCGIFHWADDR, request)
    except (OSError, ValueError):
        raise RouteError(f"no interface named {ifname!r}") from None
    return reply[18:24]


def interface_index(ifname: str) -> int:
    """The kernel's index of `ifname` in the calling thread's network namespace."""
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        raise RouteError(f"no interface named {ifname!r}") from None


def up_ethernet_interfaces() -> list[str]:
    """The names of the Ethernet interfaces that are up."""
    return [link["ifname"] for link in ip_json("link", "show", "up")
            if link.get("link_type") == "ether"]


def interface_address(interface: str, version: int) -> str | None:
    """The first global IPv4 or IPv6 address of `interface`, None if it has none."""
    family = "inet" if version == 4 else "inet6"
    for link in ip_json("addr", "show", "dev", interface):
        for info in link.get("addr_info", []):
            if info.get("family") == family and info.get("scope") == "global":
                return info["local"]
    return None


# -- routes ------------------------------------------------------------------------------------

def default_route(version: int) -> dict | None:
    """The kernel's default route for this IP version (`dev`, maybe `gateway`), None if none."""
    entries = ip_json(f"-{version}", "route", "show", "default")
    return entries[0] if entries else None


def resolve_route(addr_text: str) -> Route:
    """The kernel's route to `addr_text`, with the next hop's MAC if the kernel knows it."""
    target = ipaddress.ip_address(addr_text).compressed
    try:
        entry = ip_json("route", "get", target)[0]
    except RouteError as error:
        raise RouteError(f"no route to {target}: {error}") from None
    interface = entry["dev"]
    gateway = entry.get("gateway")
    return Route(interface=interface, source_addr=entry.get("prefsrc"), gateway=gateway,
                 next_hop_mac=neighbour_mac(interface, gateway or target),
                 interface_index=interface_index(interface), interface_mac=interface_mac(interface),
                 target=target)


# -- neighbours --------------------------------------------------------------------------------

def _usable_mac(entry: dict) -> bytes | None:
    if "lladdr" in entry and USABLE_STATES.intersection(entry.get("state", [])):
        return mac_bytes(entry["lladdr"])
    return None


def neighbour_table(interface: str) -> dict[str, bytes]:
    """Every usable entry of the neighbour table of one interface: address -> MAC."""
    table = {}
    for entry in ip_json("neigh", "show", "dev", interface):
        mac = _usable_mac(entry)
        if mac is not None:
            table[ipaddress.ip_address(entry["dst"]).compressed] = mac
    return table


def neighbour_mac(interface: str, addr_text: str) -> bytes | None:
    """The MAC of `addr_text` from the neighbour table of `interface`; None if unknown."""
    target = ipaddress.ip_address(addr_text).compressed
    for entry in ip_json("neigh", "show", "to", target, "dev", interface):
        mac = _usable_mac(entry)
        if mac is not None:
            return mac
    return None


def ask_to_resolve(interface: str, addresses: list[str]) -> subprocess.CompletedProcess:
    """Ask the kernel to resolve each address on `interface` (one `ip -batch` for all).

    `-force`: one address the kernel refuses (our own, say) must not stop the others; the
    result's return code is non-zero if any request failed.
    """
    commands = "".join(f"neigh replace {addr} dev {interface} use\n" for addr in addresses)
    return subprocess.run(["ip", "-force", "-batch", "-"], input=commands, capture_output=True,
                          text=True)


def resolve_neighbour(interface: str, addr_text: str, timeout: float = 3.0) -> bytes | None:
    """The MAC of `addr_text`, asking the kernel to resolve it if the table lacks it.

    Returns None when nothing answered within `timeout` seconds.
    """
    target = ipaddress.ip_address(addr_text).compressed
    mac = neighbour_mac(interface, target)
    if mac is not None:
        return mac
    result = ask_to_resolve(interface, [target])
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
