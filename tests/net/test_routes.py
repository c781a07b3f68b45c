"""Route, source address and next-hop MAC resolution, run inside lab namespaces."""
import json
import sys
import textwrap

import pytest

from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns


def in_namespace(host, *parts: str):
    """Run code `parts` (the last sets `result`) with lzr.runtime.kernel_tables imported, in `host`'s namespace."""
    body = "\n".join(textwrap.dedent(part) for part in parts)
    code = f"import json\nfrom lzr.runtime.kernel_tables import *\n{body}\nprint(json.dumps(result))"
    return json.loads(host.cmd(sys.executable, "-c", code).stdout)


def route_fields(addr: str) -> str:
    return f"""
        route = resolve_route({addr!r})
        fields = dict(interface=route.interface, source=route.source_addr, gateway=route.gateway,
                      mac=route.next_hop_mac and route.next_hop_mac.hex(':'), index=route.interface_index,
                      own_mac=route.interface_mac.hex(':'), next_hop=route.next_hop)
    """


def test_route_through_a_router_uses_the_gateway_mac():
    with NetnsLab() as lab:
        scanner, router, target = lab.add_host("scan"), lab.add_host("rtr"), lab.add_host("tgt")
        scan_if, router_left = lab.link(scanner, router, "10.9.0.1/24", "10.9.0.254/24")
        _, target_if = lab.link(router, target, "10.9.1.254/24", "10.9.1.2/24")
        router.cmd("sysctl", "-qw", "net.ipv4.ip_forward=1")
        scanner.cmd("ip", "route", "add", "10.9.1.0/24", "via", "10.9.0.254")
        target.cmd("ip", "route", "add", "10.9.0.0/24", "via", "10.9.1.254")

        result = in_namespace(scanner, route_fields("10.9.1.2"), """
            before = fields
            resolved = resolve_neighbour(route.interface, route.gateway, timeout=3).hex(':')
        """, route_fields("10.9.1.2"), """
            result = dict(before=before, resolved=resolved, after=fields)
        """)
        index = int(scanner.cmd("cat", f"/sys/class/net/{scan_if}/ifindex").stdout)
        expected = dict(interface=scan_if, source="10.9.0.1", gateway="10.9.0.254", index=index,
                        own_mac=scanner.mac(scan_if), next_hop="10.9.0.254")
        assert result["before"] == dict(expected, mac=None)
        assert result["resolved"] == router.mac(router_left)
        assert result["after"] == dict(expected, mac=router.mac(router_left))
        assert router.mac(router_left) != target.mac(target_if)


def test_directly_connected_targets_resolve_each_their_own_mac():
    with NetnsLab() as lab:
        switch = lab.add_host("sw")
        scanner, first, second = lab.add_host("scan"), lab.add_host("t1"), lab.add_host("t2")
        switch.cmd("ip", "link", "add", "br0", "type", "bridge")
        switch.cmd("ip", "link", "set", "br0", "up")
        interfaces = {}
        for host, addr in ((scanner, "10.9.0.1/24"), (first, "10.9.0.11/24"), (second, "10.9.0.12/24")):
            host_if, switch_if = lab.link(host, switch, addr)
            switch.cmd("ip", "link", "set", switch_if, "master", "br0")
            interfaces[host.name] = host_if
        scan_if = interfaces["scan"]

        result = in_namespace(scanner, route_fields("10.9.0.11"), f"""
            first_route = fields
            first = resolve_neighbour({scan_if!r}, "10.9.0.11").hex(':')
            second = resolve_neighbour({scan_if!r}, "10.9.0.12").hex(':')
            absent = resolve_neighbour({scan_if!r}, "10.9.0.99", timeout=0.3)
            table = {{addr: mac.hex(':') for addr, mac in neighbour_table({scan_if!r}).items()}}
        """, route_fields("10.9.0.12"), """
            result = dict(first_route=first_route, first=first, second=second, absent=absent,
                          table=table, second_route=fields)
        """)
        first_mac, second_mac = first.mac(interfaces["t1"]), second.mac(interfaces["t2"])
        assert result["first_route"]["gateway"] is None
        assert result["first_route"]["next_hop"] == "10.9.0.11"
        assert result["first_route"]["mac"] is None
        assert (result["first"], result["second"]) == (first_mac, second_mac)
        assert first_mac != second_mac
        assert result["absent"] is None
        assert result["table"] == {"10.9.0.11": first_mac, "10.9.0.12": second_mac}
        assert result["second_route"]["mac"] == second_mac
        assert result["second_route"]["interface"] == scan_if


def test_ipv6_directly_connected_target_resolves_with_ndp():
    with NetnsLab() as lab:
        scanner, target = lab.add_host("scan"), lab.add_host("tgt")
        scan_if, target_if = lab.link(scanner, target, "fd00:9::1/64", "fd00:9::2/64")
        result = in_namespace(scanner, route_fields("fd00:9:0:0::2"), f"""
            result = dict(route=fields, mac=resolve_neighbour({scan_if!r}, "fd00:9::2").hex(':'))
        """)
        assert result["route"]["interface"] == scan_if
        assert result["route"]["source"] == "fd00:9::1"
        assert result["route"]["gateway"] is None
        assert result["route"]["next_hop"] == "fd00:9::2"
        assert result["mac"] == target.mac(target_if)


def test_unreachable_target_is_an_error():
    with NetnsLab() as lab:
        scanner = lab.add_host("scan")
        result = in_namespace(scanner, """
            try:
                resolve_route("10.9.5.5")
                result = "resolved"
            except RouteError as error:
                result = str(error)
        """)
        assert result.startswith("no route to 10.9.5.5")
