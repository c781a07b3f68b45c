"""The capture filter's logic, run on a small classic-BPF interpreter (the kernel test is in tests/net)."""
import struct

import pytest
from scapy.layers.inet import IP, TCP, UDP, IPOption_NOP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from lzr.wire import bpf
from lzr.wire.bpf import PROGRAM, AssemblyError, Instruction, Step, assemble, pack_filter


def run(program: list[Instruction], frame: bytes) -> int:
    """Classic BPF semantics for the opcodes the filter uses; a load past the end drops."""
    a = x = pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code in (bpf.LD_H_ABS, bpf.LD_B_ABS, bpf.LD_B_IND, bpf.LDX_B_MSH):
            offset = k + x if code == bpf.LD_B_IND else k
            width = 2 if code == bpf.LD_H_ABS else 1
            if offset + width > len(frame):
                return 0
            value = int.from_bytes(frame[offset:offset + width], "big")
            if code == bpf.LDX_B_MSH:
                x = 4 * (value & 0x0F)
            else:
                a = value
        elif code == bpf.JEQ_K:
            pc += jt if a == k else jf
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
