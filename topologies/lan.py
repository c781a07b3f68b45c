"""`lan`: the scanner and N target hosts on one Linux bridge, no router.

The scanner (198.18.0.2) and the targets (198.18.0.10 upwards) share one segment and no node
has a default route, so nothing can leave the segment. A scanner that sends every frame to
one gateway MAC (ZMap, `lzr -gatewayMac`) needs `routed` instead.

    mn --custom topologies/lan.py --topo lan,3 --switch lxbr --controller none
"""
from topologies.base import TARGET_NET, LabTopo, plen, target_address

LAN_SCANNER_IP = "198.18.0.2"


class LanTopo(LabTopo):
    def build(self, hosts: int = 2):
        switch = self.addSwitch(self.name("s1"))
        scanner = self.addHost(self.name("sc"), ip=LAN_SCANNER_IP + plen(TARGET_NET))
        self.addLink(scanner, switch)
        for index in range(hosts):
            host = self.addHost(self.name(f"h{index + 1}"),
                                ip=target_address(index) + plen(TARGET_NET))
            self.addLink(host, switch)


topos = {"lan": LanTopo}
