"""`sparse`: a few hosts, each answering for a whole /20, behind a router.

This emulates a large, sparsely populated address space with few namespaces: host k owns the
prefix 198.19.(16k).0/20 through a local route (`ip route add local PREFIX dev lo`), so every
address of the prefix is local to it and services bind to chosen (address, port) pairs. Its
iptables rules decide who answers: the live addresses are accepted, every other address of
the prefix drops silently, like an empty address on the Internet. The router routes each
prefix to its host.

    mn --custom topologies/sparse.py --topo sparse,2 --switch lxbr --controller none
"""
from mininet.node import Host

if __package__:
    from .addresses import ROUTER_TARGET_IP, TARGET_NET, sparse_prefix, target_address
    from .base import LabTopo, plen
else:  # `mn --custom topologies/sparse.py` runs this file's text outside any package
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(sys._getframe().f_code.co_filename))))
    from topologies.addresses import ROUTER_TARGET_IP, TARGET_NET, sparse_prefix, target_address
    from topologies.base import LabTopo, plen


class PrefixHost(Host):
    """A host that answers for `prefix`; with `live` only those addresses of it answer."""

    def config(self, prefix=None, live=None, **params):
        result = super().config(**params)
        if prefix is not None:
            self.cmd("ip route add local", prefix, "dev lo")
            if live is not None:
                for address in live:
                    self.cmd("iptables -w -A INPUT -d", address, "-j ACCEPT")
                self.cmd("iptables -w -A INPUT -d", prefix, "-j DROP")
        return result


class SparseTopo(LabTopo):
    def build(self, hosts: int = 2, live: dict[int, list[str]] | None = None):
        """live: host index (0-based) -> its answering addresses; None lets every address answer."""
        target_switch = self.addSwitch(self.name("s1"))
        routes = [(str(sparse_prefix(index)), target_address(index)) for index in range(hosts)]
        self.add_scanner_behind_router(target_switch, routes)
        for index in range(hosts):
            host = self.addHost(self.name(f"p{index + 1}"), cls=PrefixHost,
                                ip=target_address(index) + plen(TARGET_NET),
                                defaultRoute=f"via {ROUTER_TARGET_IP}",
                                prefix=str(sparse_prefix(index)),
                                live=None if live is None else live.get(index, []))
            self.addLink(host, target_switch)


topos = {"sparse": SparseTopo}
