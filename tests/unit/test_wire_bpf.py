"""The capture filter's logic, run on a small classic-BPF interpreter (the kernel test is in tests/net)."""
import struct

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import IP, TCP, UDP, IPOption_NOP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from lzr.wire import ACK, PSH, RST, SYN, FrameBuilder, bpf, parse_frame
from lzr.wire.bpf import PROGRAM, AssemblyError, Instruction, Step, assemble, capture_program, pack_filter


def run(program: list[Instruction], frame: bytes) -> int:
    """Classic BPF semantics for the opcodes the filter uses; a load past the end drops."""
    a = x = pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code in (bpf.LD_W_ABS, bpf.LD_H_ABS, bpf.LD_B_ABS, bpf.LD_H_IND, bpf.LD_B_IND, bpf.LDX_B_MSH):
            offset = k + x if code in (bpf.LD_H_IND, bpf.LD_B_IND) else k
            width = {bpf.LD_W_ABS: 4, bpf.LD_H_ABS: 2, bpf.LD_H_IND: 2}.get(code, 1)
            if offset + width > len(frame):
                return 0
            value = int.from_bytes(frame[offset:offset + width], "big")
            if code == bpf.LDX_B_MSH:
                x = 4 * (value & 0x0F)
            else:
                a = value
        elif code == bpf.JEQ_K:
            pc += jt if a == k else jf
        elif code == bpf.JGT_K:
            pc += jt if a > k else jf
        elif code == bpf.JGE_K:
            pc += jt if a >= k else jf
        elif code == bpf.JSET_K:
            pc += jt if a & k else jf
        elif code == bpf.RET_K:
            return k
        else:
            raise AssertionError(f"opcode {code:#x} not modelled")


def ether() -> Ether:
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def v4(**tcp) -> bytes:
    return bytes(ether() / IP(src="10.1.0.1", dst="10.1.0.2") / TCP(**tcp))


def v6(**tcp) -> bytes:
    return bytes(ether() / IPv6(src="fd00::1", dst="fd00::2") / TCP(**tcp))


KEPT = {
    "v4 syn-ack": v4(flags="SA"), "v4 ack": v4(flags="A"), "v4 rst": v4(flags="R"),
    "v4 rst-ack": v4(flags="RA"), "v4 fin-ack": v4(flags="FA"),
    "v4 data": bytes(ether() / IP(src="10.1.0.1", dst="10.1.0.2") / TCP(flags="PA") / Raw(b"HTTP/1.1 200")),
    "v4 syn with ece": v4(flags="SE"),
    "v4 ack after ip options": bytes(ether() / IP(src="10.1.0.1", dst="10.1.0.2", options=[IPOption_NOP()] * 8)
                                     / TCP(flags="A")),
    "v6 syn-ack": v6(flags="SA"), "v6 ack": v6(flags="A"), "v6 rst": v6(flags="R"), "v6 fin": v6(flags="F"),
    "v6 data": bytes(ether() / IPv6(src="fd00::1", dst="fd00::2") / TCP(flags="PA") / Raw(b"SSH-2.0-x\r\n")),
}
DROPPED = {
    "v4 syn": v4(flags="S"), "v6 syn": v6(flags="S"),
    "v4 syn after ip options": bytes(ether() / IP(src="10.1.0.1", dst="10.1.0.2", options=[IPOption_NOP()] * 8)
                                     / TCP(flags="S")),
    "v4 udp": bytes(ether() / IP(src="10.1.0.1", dst="10.1.0.2") / UDP()),
    "v6 udp": bytes(ether() / IPv6(src="fd00::1", dst="fd00::2") / UDP()),
    "arp": bytes(ether() / ARP()),
    "v4 later fragment": bytes(ether() / IP(src="10.1.0.1", dst="10.1.0.2", proto=6, frag=2) / Raw(b"\x00" * 20)),
    "v6 extension header": bytes(ether() / IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrDestOpt() / TCP(flags="A")),
    "truncated v4": v4(flags="A")[:40],
}


@pytest.mark.parametrize("frame", KEPT.values(), ids=KEPT.keys())
def test_keeps_tcp_that_is_not_a_bare_syn(frame):
    assert run(PROGRAM, frame) == bpf.SNAP_LENGTH


@pytest.mark.parametrize("frame", DROPPED.values(), ids=DROPPED.keys())
def test_drops_bare_syns_and_everything_else(frame):
    assert run(PROGRAM, frame) == 0


def test_pack_filter_is_an_array_of_sock_filter():
    packed = pack_filter(PROGRAM)
    assert len(packed) == 8 * len(PROGRAM)
    assert [Instruction(*fields) for fields in struct.iter_unpack("=HBBI", packed)] == PROGRAM


def test_assembler_resolves_labels_relative_to_the_next_instruction():
    program = assemble([Step(bpf.JEQ_K, 1, jt="b", jf="a"), "a", Step(bpf.RET_K, 0), "b", Step(bpf.RET_K, 9)])
    assert program == [Instruction(bpf.JEQ_K, 1, 0, 1), Instruction(bpf.RET_K, 0, 0, 0),
                       Instruction(bpf.RET_K, 0, 0, 9)]


@pytest.mark.parametrize("source,message", [
    ([Step(bpf.JEQ_K, 1, jt="nowhere"), Step(bpf.RET_K, 0)], "unknown label"),
    (["a", Step(bpf.RET_K, 0), "a", Step(bpf.RET_K, 0)], "duplicate label"),
    (["back", Step(bpf.RET_K, 0), Step(bpf.JEQ_K, 1, jt="back")], "out of range"),
    ([Step(bpf.JEQ_K, 1, jt="far")] + [Step(bpf.RET_K, 0)] * 256 + ["far", Step(bpf.RET_K, 1)], "out of range"),
])
def test_assembler_rejects_bad_programs(source, message):
    with pytest.raises(AssemblyError, match=message):
        assemble(source)


SCANNER_V4, SCANNER_V6 = 0x0A010001, 0xFD00_0000_0000_0000_0000_0000_0000_0001
PORTS = range(32768, 61000)
BUILDERS = {4: FrameBuilder(b"\x02" * 6, b"\x04" * 6, 0x0A010002, 4),
            6: FrameBuilder(b"\x02" * 6, b"\x04" * 6, SCANNER_V6 + 1, 6)}


def near(address: int, bits: int) -> st.SearchStrategy[int]:
    """The address itself, or the address with one bit flipped (in any of the IPv6 words)."""
    return st.sampled_from([address]) | st.integers(0, bits - 1).map(lambda bit: address ^ (1 << bit))


@settings(max_examples=300, deadline=None)
@given(filter_version=st.sampled_from([4, 6]), frame_version=st.sampled_from([4, 6]),
       dport=st.sampled_from([0, PORTS.start - 1, PORTS.start, 40000, PORTS.stop - 1, PORTS.stop, 65535]),
       flags=st.sampled_from([SYN, SYN | ACK, ACK, RST, PSH | ACK]), data=st.data())
def test_narrowed_program_keeps_exactly_the_scanners_segments(filter_version, frame_version, dport, flags, data):
    scanner = SCANNER_V4 if filter_version == 4 else SCANNER_V6
    program = capture_program(filter_version, scanner, PORTS)
    own = SCANNER_V4 if frame_version == 4 else SCANNER_V6
    daddr = data.draw(near(own, 32 if frame_version == 4 else 128))
    frame = BUILDERS[frame_version].segment(daddr, 80, dport, 1, 2, flags, 100)
    expected = frame_version == filter_version and daddr == scanner and dport in PORTS and flags != SYN
    assert run(program, frame) == (bpf.SNAP_LENGTH if expected else 0)


@pytest.mark.parametrize("version", [None, 4, 6])
def test_port_range_alone_narrows_both_versions(version):
    program = capture_program(version, dports=range(1000, 1001))
    for frame_version in (4, 6):
        daddr = SCANNER_V4 if frame_version == 4 else SCANNER_V6
        for dport, kept in ((999, False), (1000, True), (1001, False)):
            frame = BUILDERS[frame_version].segment(daddr, 80, dport, 1, 2, ACK, 100)
            expected = kept and version in (None, frame_version)
            assert run(program, frame) == (bpf.SNAP_LENGTH if expected else 0)


def test_unnarrowed_program_is_lzrs_filter():
    assert PROGRAM == capture_program()


@pytest.mark.parametrize("arguments", [
    {"version": 5}, {"daddr": 1}, {"dports": range(0, 10, 2)}, {"dports": range(5, 5)}, {"dports": range(0, 65537)},
])
def test_capture_program_rejects_bad_arguments(arguments):
    with pytest.raises(ValueError):
        capture_program(**arguments)
