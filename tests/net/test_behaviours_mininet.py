"""Behaviours installed on a Mininet host work as on a NetnsLab host: one `lan` network,
a zero-window port and a resetting port on the target, seen from the scanner host."""
import json
import socket
import struct
import subprocess
import sys

import pytest

from lzr.runtime.netns import inside_netns
from lzr.wire.checksum import tcp_checksum
from lzr_sim.behaviours import ResetAfterHandshake, ZeroWindow, applied

pytestmark = pytest.mark.mininet

@pytest.fixture
def lan():
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.nodelib import LinuxBridge

    from lzr_sim.topologies.base import new_run_id
    from lzr_sim.topologies.lan import LanTopo

    setLogLevel("error")
    run_id = new_run_id()
    net = Mininet(topo=LanTopo(hosts=1, run_id=run_id), switch=LinuxBridge, controller=None,
                  autoSetMacs=True, waitConnected=False)
    try:
        net.start()
        for host in net.hosts:
            # As the harness does: checksums filled in and verified as on a real NIC.
            host.cmd("ethtool -K", host.defaultIntf().name, "tx off rx off tso off gso off gro off")
        yield net.get(f"{run_id}sc"), net.get(f"{run_id}h1")
    finally:
        net.stop()


def test_behaviours_on_a_mininet_host(lan):
    scanner, target = lan
    spec = json.dumps([{"port": 8080, "protocol": "http"}])
    runner = target.popen(sys.executable, "-m", "lzr_sim.services.serve", "--spec-json", spec,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert runner.stdout.readline().startswith("READY")
        with applied(target, ZeroWindow(ports=(8080,)), ResetAfterHandshake(port=7000)), inside_netns(scanner.pid):
            interface = scanner.defaultIntf().name
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)) as capture:
                capture.bind((interface, 0))
                capture.settimeout(3)
                socket.create_connection((target.IP(), 8080), timeout=3).close()
                while True:
                    ip = capture.recv(65536)[14:]
                    tcp = ip[(ip[0] & 0x0F) * 4:]
                    if ip[9] == 6 and struct.unpack_from(">H", tcp)[0] == 8080 and tcp[13] & 0x12 == 0x12:
                        break
            assert struct.unpack_from(">H", tcp, 14)[0] == 0
            segment = tcp[:struct.unpack_from(">H", ip, 2)[0] - (ip[0] & 0x0F) * 4]
            unchecked = segment[:16] + b"\x00\x00" + segment[18:]
            source, destination = int.from_bytes(ip[12:16], "big"), int.from_bytes(ip[16:20], "big")
            assert struct.unpack_from(">H", tcp, 16)[0] == tcp_checksum(source, destination, unchecked)
            with pytest.raises(ConnectionResetError):
                with socket.create_connection((target.IP(), 7000), timeout=3) as conn:
                    conn.recv(100)
        rules = target.popen("iptables-save", stdout=subprocess.PIPE, text=True).communicate()[0]
        assert "lzr-sim:" not in rules
    finally:
        runner.terminate()
        runner.wait(timeout=10)
