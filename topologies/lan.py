"""`lan`: the scanner and N target hosts on one Linux bridge, no router.

The scanner (198.18.0.2) and the targets (198.18.0.10 upwards) share one segment and no node
has a default route, so nothing can leave the segment. A scanner that sends every frame to
one gateway MAC (ZMap, `lzr -gatewayMac`) needs `routed` instead.

    mn --custom topologies/lan.py --topo lan,3 --switch lxbr --controller none
"""
if __package__:
    from .addresses import LAN_SCANNER_IP, TARGET_NET, default_targets
    from .base import LabTopo, plen
else:  # `mn --custom topologies/lan.py` runs this file's text outside any package
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(sys._getframe().f_code.co_filename))))
    from topologies.addresses import LAN_SCANNER_IP, TARGET_NET, default_targets
    from topologies.base import LabTopo, plen


class LanTopo(LabTopo):
    def build(self, hosts: int = 2, targets: list[tuple[str, str]] | None = None):
        """targets: (node name, address) pairs; default h1, h2, ... from 198.18.0.10 upwards."""
        switch = self.addSwitch(self.name("s1"))
        scanner = self.addHost(self.name("sc"), ip=LAN_SCANNER_IP + plen(TARGET_NET))
        self.addLink(scanner, switch)
        for name, address in targets or default_targets(hosts):
            host = self.addHost(self.name(name), ip=address + plen(TARGET_NET))
            self.addLink(host, switch)


topos = {"lan": LanTopo}
