"""SYNs per second from one sender process, beside Debian's zmap on the same path.

A throw-away NetnsLab: a scanner namespace linked by a veth pair to a sink namespace whose
raw PREROUTING chain drops everything arriving on the link. The lab-only subnet 10.64.0.0/10
is routed to the veth inside the scanner namespace; nothing can leave the lab. Each sender
gets about SECONDS: ours builds SYNs from a FrameBuilder and sends them with sendmmsg batches
(PacketSocket.send_batch); zmap runs with no rate limit, one send thread, to the sink's MAC.
Target (issue 5): ours >= 300,000 pps.
"""
import json
import os
import shutil
import tempfile
import time

from lzr.runtime.packet_socket import PacketSocket, run_in_netns
from lzr.wire import FrameBuilder, parse_addr
from lzr_sim.lab import NetnsLab

SECONDS = 5
BATCH = 256
TARGET_PPS = 300_000
SCANNER_IP, SINK_IP = "10.76.0.1", "10.76.0.2"
LAB_TARGETS = "10.64.0.0/10"



def our_rate(sock: PacketSocket, builder: FrameBuilder) -> float:
    syn = builder.syn
    first = parse_addr(LAB_TARGETS.split("/")[0])[1]
    span = 1 << (32 - int(LAB_TARGETS.split("/")[1]))
    sent, index = 0, 0
    start = time.perf_counter()
    deadline = start + SECONDS
    while time.perf_counter() < deadline:
        frames = [syn(first + (i % span), 32768 + (i & 0x3FFF), 80, i) for i in range(index, index + BATCH)]
        index += BATCH
        sent += sock.send_batch(frames)
    return sent / (time.perf_counter() - start)


def zmap_rate(scanner, scan_if: str, sink_mac: str, workdir: str) -> float:
    empty_blocklist, metadata = os.path.join(workdir, "blocklist"), os.path.join(workdir, "meta.json")
    open(empty_blocklist, "w").close()
    scanner.cmd("zmap", "-p", "80", "-i", scan_if, "-G", sink_mac, "-b", empty_blocklist,
                "-S", SCANNER_IP, "-r", "0", "-T", "1", "-t", str(SECONDS), "-c", "0", "-q", "-v", "1",
                "-o", "/dev/null", "-m", metadata, LAB_TARGETS)
    with open(metadata) as file:
        return json.load(file)["total_sent"] / SECONDS


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="lzr-send-rate-")
    try:
        with NetnsLab() as lab:
            scanner, sink = lab.add_host("scan"), lab.add_host("sink")
            scan_if, sink_if = lab.link(scanner, sink, f"{SCANNER_IP}/24", f"{SINK_IP}/24")
            scanner.cmd("ip", "route", "add", LAB_TARGETS, "dev", scan_if)
            sink.cmd("iptables", "-t", "raw", "-A", "PREROUTING", "-i", sink_if, "-j", "DROP")
            sink_mac = sink.mac(sink_if)
            with run_in_netns(scanner.netns, lambda: PacketSocket(scan_if, protocol=0, program=None)) as sock:
                builder = FrameBuilder(sock.mac, bytes.fromhex(sink_mac.replace(":", "")),
                                       parse_addr(SCANNER_IP)[1], 4)
                ours = our_rate(sock, builder)
            zmap = zmap_rate(scanner, scan_if, sink_mac, workdir) if shutil.which("zmap") else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"SYNs per second over a veth into a dropping namespace, {SECONDS} s each:")
    print(f"  lzr (one process, build + sendmmsg x{BATCH}) {ours:>12,.0f} pps  "
          f"{'ok' if ours >= TARGET_PPS else 'BELOW TARGET'} (target >= {TARGET_PPS:,})")
    if zmap is None:
        print("  zmap: not installed")
    else:
        print(f"  zmap 2.1 (one send thread, -r 0)         {zmap:>12,.0f} pps")
        print(f"  ratio lzr / zmap                         {ours / zmap:>12.2f}")


if __name__ == "__main__":
    main()
