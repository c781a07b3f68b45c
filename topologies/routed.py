"""`routed`: the scanner behind a router host, N target hosts on the router's other segment.

The router gives ZMap and `lzr -sendSYNs` a gateway MAC. The scanner's default route points
at the router, the targets route back through it, and the router knows only its two
connected segments: a packet for any other address dies in the router.

    scanner 198.19.255.10 -- s0 -- router (.255.1 | 198.18.0.1) -- s1 -- hosts 198.18.0.10+

    mn --custom topologies/routed.py --topo routed,3 --switch lxbr --controller none
"""
if __package__:
    from .addresses import ROUTER_TARGET_IP, TARGET_NET, default_targets
    from .base import LabTopo, plen
else:  # `mn --custom topologies/routed.py` runs this file's text outside any package
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(sys._getframe().f_code.co_filename))))
    from topologies.addresses import ROUTER_TARGET_IP, TARGET_NET, default_targets
    from topologies.base import LabTopo, plen


class RoutedTopo(LabTopo):
    def build(self, hosts: int = 2, targets: list[tuple[str, str]] | None = None):
        """targets: (node name, address) pairs; default h1, h2, ... from 198.18.0.10 upwards."""
        target_switch = self.addSwitch(self.name("s1"))
        self.add_scanner_behind_router(target_switch)
        for name, address in targets or default_targets(hosts):
            host = self.addHost(self.name(name), ip=address + plen(TARGET_NET),
                                defaultRoute=f"via {ROUTER_TARGET_IP}")
            self.addLink(host, target_switch)


topos = {"routed": RoutedTopo}
