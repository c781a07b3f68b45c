"""Every synthetic service, scanned through the emulated network with its own handshake only,
gets its own label: each probe of the scanner elicits, from its matching service, a response
its rule labels."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from lzr.handshakes import REGISTRY
from lzr_sim.population import PROTOCOLS, catalogue

pytestmark = pytest.mark.mininet

# One lzr per protocol (a scan's -handshakes applies to all its targets); four at a time,
# each on its own local port range so their RST guards and captures never overlap.
CONCURRENT_SCANS = 4
PORTS_PER_SCAN = 2000


def test_each_service_is_named_by_its_own_handshake(sim_network):
    protocols = [name for name in PROTOCOLS if name in REGISTRY]
    assert len(protocols) == len(PROTOCOLS), "every emulated protocol has a handshake"
    net = sim_network(manifest=catalogue(protocols, per_host=4))

    def scan(job):
        index, (address, port, service) = job
        low = 33000 + (index % CONCURRENT_SCANS) * PORTS_PER_SCAN
        flags = ["-handshakes", service.protocol, "-c", "0", "-w", "1",
                 "--source-ports", f"{low}-{low + PORTS_PER_SCAN - 1}"]
        records = net.scan(flags, targets=[(address, port)])
        return service.protocol, [record["fingerprint"] for record in records]

    with ThreadPoolExecutor(CONCURRENT_SCANS) as pool:
        named = dict(pool.map(scan, enumerate(net.manifest.targets())))
    wrong = {protocol: labels for protocol, labels in named.items() if labels != [protocol]}
    assert not wrong, wrong
