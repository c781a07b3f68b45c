"""The capture filter in the kernel: attached to an AF_PACKET socket in a namespace, it passes
every TCP segment but bare SYNs and drops the rest, for IPv4 and IPv6."""

import pytest
from scapy.layers.inet import IP, TCP, UDP, IPOption_NOP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from lzr.runtime.packet_socket import PacketSocket, run_in_netns
from lzr.wire import ACK, PSH, RST, SYN, FrameBuilder, parse_addr, parse_frame
from lzr.wire.bpf import capture_program
from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns

V4 = ("10.202.0.1", "10.202.0.2")
V6 = ("fd00:202::1", "fd00:202::2")

# Each frame is marked by its source port, so the kernel's own traffic (its RSTs, neighbour
# discovery) cannot be mistaken for a test frame.
KEPT = {1001: ("v4", "SA"), 1002: ("v4", "A"), 1003: ("v4", "R"), 1004: ("v4", "FA"), 1005: ("v4", "PA", b"data"),
        1006: ("v4-ip-options", "A"),
        2001: ("v6", "SA"), 2002: ("v6", "A"), 2003: ("v6", "RA"), 2004: ("v6", "F"), 2005: ("v6", "PA", b"data")}
DROPPED_TCP = {3001: ("v4", "S"), 3002: ("v6", "S"), 3003: ("v4-ip-options", "S")}



def tcp_frame(src_mac, dst_mac, sport, kind, flags, payload=b""):
    if kind.startswith("v4"):
        options = [IPOption_NOP()] * 4 if kind == "v4-ip-options" else []
        ip = IP(src=V4[0], dst=V4[1], options=options)
    else:
        ip = IPv6(src=V6[0], dst=V6[1])
    return bytes(Ether(src=src_mac, dst=dst_mac) / ip / TCP(sport=sport, dport=80, flags=flags) / Raw(payload))


def test_kernel_runs_the_filter_as_specified():
    with NetnsLab() as lab:
        scanner, target = lab.add_host("scan"), lab.add_host("tgt")
        target_if, scanner_if = lab.link(target, scanner, f"{V4[0]}/24", f"{V4[1]}/24")
        sender = run_in_netns(target.netns, lambda: PacketSocket(target_if, program=None))
        capture = run_in_netns(scanner.netns, lambda: PacketSocket(scanner_if))
        with sender, capture:
            src, dst = sender.mac.hex(":"), capture.mac.hex(":")
            frames = [tcp_frame(src, dst, sport, *spec) for sport, spec in {**KEPT, **DROPPED_TCP}.items()]
            frames += [
                bytes(Ether(src=src, dst=dst) / IP(src=V4[0], dst=V4[1]) / UDP(sport=4001, dport=53)),
                bytes(Ether(src=src, dst=dst) / IPv6(src=V6[0], dst=V6[1]) / UDP(sport=4002, dport=53)),
                bytes(Ether(src=src, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=V4[0], pdst=V4[1], hwsrc=src)),
            ]
            sender.send_batch(frames)
            seen: dict[int, int] = {}
            while set(seen) != set(KEPT):
                batch = capture.receive(timeout=1.0)
                if not batch:
                    break
                for frame in batch:
                    segment = parse_frame(frame)
                    assert segment is not None, f"filter passed a frame that is not TCP: {frame.hex()}"
                    assert segment.flags != 0x02, "filter passed a bare SYN"
                    seen[segment.sport] = seen.get(segment.sport, 0) + 1
            # Anything else still on its way would be a frame the filter should have dropped.
            for frame in capture.receive(timeout=0.3):
                segment = parse_frame(frame)
                assert segment is not None and segment.flags != 0x02
                seen[segment.sport] = seen.get(segment.sport, 0) + 1
    assert seen == {sport: 1 for sport in KEPT}


@pytest.mark.parametrize("version", [4, 6])
def test_kernel_runs_the_narrowed_filter(version):
    """capture_program(version, scanner address, local ports): only the scanner's own segments."""
    scanner_addr = parse_addr(V4[1] if version == 4 else V6[1])[1]
    other_addr = parse_addr(V4[0] if version == 4 else V6[0])[1]
    ports = range(40000, 40010)
    cases = {  # seq: (destination, port, flags, kept)
        1: (scanner_addr, 40000, ACK, True), 2: (scanner_addr, 40009, PSH | ACK, True),
        3: (scanner_addr, 39999, ACK, False), 4: (scanner_addr, 40010, ACK, False),
        5: (other_addr, 40000, ACK, False), 6: (scanner_addr, 40005, SYN, False),
        7: (scanner_addr, 40005, RST, True),
    }
    with NetnsLab() as lab:
        scanner, target = lab.add_host("scan"), lab.add_host("tgt")
        target_if, scanner_if = lab.link(target, scanner, f"{V4[0]}/24", f"{V4[1]}/24")
        sender = run_in_netns(target.netns, lambda: PacketSocket(target_if, program=None))
        program = capture_program(version, scanner_addr, ports)
        capture = run_in_netns(scanner.netns, lambda: PacketSocket(scanner_if, program=program))
        with sender, capture:
            frames = [FrameBuilder(sender.mac, capture.mac, other_addr, version).segment(
                daddr, 80, port, seq, 1, flags, 100) for seq, (daddr, port, flags, _) in cases.items()]
            other_version = 6 if version == 4 else 4
            frames.append(FrameBuilder(sender.mac, capture.mac, 1, other_version).segment(
                scanner_addr & 0xFFFFFFFF, 80, 40000, 8, 1, ACK, 100))
            sender.send_batch(frames)
            received = []
            while batch := capture.receive(timeout=0.5):
                received += batch
    assert sorted(parse_frame(frame).seq for frame in received) == [seq for seq, case in cases.items() if case[3]]
