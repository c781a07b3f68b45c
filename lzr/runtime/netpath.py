"""Choose the interface, scanner address and destination MAC of a scan, once, before it starts.

Precedence: -sendInterface, else the interface of the kernel's route to the targets
(the first range target, else the default route, else the only interface that is up);
-sourceIP, else that interface's address; -gatewayMac, else the MAC of the route's gateway
from the neighbour table, else none: targets are directly connected and each is resolved on
its own (runtime.neighbours). The kernel's tables are read through runtime.kernel_tables.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from lzr.config import ScanConfig, UsageError
from lzr.runtime import kernel_tables
from lzr.wire import parse_addr


@dataclass(frozen=True)
class SendPath:
    """Where frames leave and how they are addressed (resolved once by the coordinator)."""

    interface: str
    src_mac: bytes
    dst_mac: bytes | None          # None: targets are directly connected, each its own next hop
    scanner_addr: int


class PathError(RuntimeError):
    """No usable interface, address or next hop; the message says which flag fixes it."""


def resolve(cfg: ScanConfig) -> SendPath:
    version = cfg.version
    gateway = None
    interface = cfg.send_interface
    if cfg.targets:
        first = str(ipaddress.ip_network(cfg.targets[0], strict=False).network_address)
        try:
            route = kernel_tables.resolve_route(first)
        except kernel_tables.RouteError as err:
            if interface is None:
                raise PathError(f"{err}; give -sendInterface") from None
        else:
            if interface in (None, route.interface):
                interface, gateway = route.interface, route.gateway
    if interface is None:
        default = kernel_tables.default_route(version)
        if default is not None:
            interface, gateway = default["dev"], default.get("gateway")
        else:
            candidates = kernel_tables.up_ethernet_interfaces()
            if len(candidates) != 1:
                raise PathError("cannot tell which interface to scan from; give -sendInterface")
            interface = candidates[0]
    elif gateway is None and not cfg.targets:
        default = kernel_tables.default_route(version)
        if default is not None and default["dev"] == interface:
            gateway = default.get("gateway")

    try:
        src_mac = kernel_tables.interface_mac(interface)
    except kernel_tables.RouteError as err:
        raise UsageError("-sendInterface", str(err)) from None
    source_ip = cfg.source_ip or kernel_tables.interface_address(interface, version)
    if source_ip is None:
        raise PathError(f"{interface} has no IPv{version} address; give -sourceIP")
    if cfg.gateway_mac:
        dst_mac = kernel_tables.mac_bytes(cfg.gateway_mac)
    elif gateway:
        dst_mac = kernel_tables.resolve_neighbour(interface, gateway)
        if dst_mac is None:
            raise PathError(f"gateway {gateway} on {interface} does not answer; give -gatewayMac")
    else:
        dst_mac = None
    return SendPath(interface=interface, src_mac=src_mac, dst_mac=dst_mac,
                    scanner_addr=parse_addr(source_ip)[1])
