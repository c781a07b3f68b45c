"""The capture filter: a classic BPF program, assembled here, no libpcap needed.

It keeps every TCP segment whose flag byte is not exactly SYN, over IPv4 (any header length)
and IPv6 (TCP directly after the fixed header), on Ethernet frames, and drops everything
else. That is LZR's filter (docs/lzr-reference.md §6.4: `tcp[tcpflags] != tcp-syn`, and for IPv6
`ip6[53] != 2`), for both versions at once. Bare SYNs are dropped because the scanner never
needs one: those on its interface are its own (and ZMap's) probes, or connection attempts to
the host itself. Non-first IPv4 fragments are dropped too: their bytes at the TCP flag
offset are payload.

`capture_program()` can narrow the filter further, in the kernel, to one IP version, the
scanner's own address and its local port range, so that a busy host's other traffic never
reaches the receiver process. `PROGRAM` is the unnarrowed filter, LZR's.

The program is written with symbolic jump targets and assembled into the kernel's
`struct sock_filter` list; `pack_filter` gives the bytes that `SO_ATTACH_FILTER` points at.
"""
from __future__ import annotations

import struct
from typing import NamedTuple, Sequence, Union

from .headers import (ETH_P_IP, ETH_P_IPV6, ETHERNET, IPPROTO_TCP, IPV4, IPV4_FRAGMENT_OFFSET_MASK,
                      IPV6, TCP)
from .segment import SYN

# Opcodes (linux/filter.h, linux/bpf_common.h): class | size | mode, or class | op | source.
LD_W_ABS = 0x20    # A = u32 at [k]
LD_H_ABS = 0x28    # A = u16 at [k]
LD_B_ABS = 0x30    # A = u8 at [k]
LD_H_IND = 0x48    # A = u16 at [X + k]
LD_B_IND = 0x50    # A = u8 at [X + k]
LDX_B_MSH = 0xB1   # X = 4 * (u8 at [k] & 0x0F): the IPv4 header length
JEQ_K = 0x15       # pc += (A == k) ? jt : jf
JGT_K = 0x25       # pc += (A > k) ? jt : jf
JGE_K = 0x35       # pc += (A >= k) ? jt : jf
JSET_K = 0x45      # pc += (A & k) ? jt : jf
RET_K = 0x06       # accept k bytes of the packet (0 = drop)

# Bytes of a kept frame handed to user space: all of it (veth GSO super-segments reach 64 KiB).
SNAP_LENGTH = 0x40000


class Instruction(NamedTuple):
    """One `struct sock_filter`: jumps are relative to the next instruction."""

    code: int
    jt: int
    jf: int
    k: int


class Step(NamedTuple):
    """An instruction before assembly: jump targets are label names, None = the next instruction."""

    code: int
    k: int
    jt: str | None = None
    jf: str | None = None


Source = Sequence[Union[str, Step]]

_IP = ETHERNET.size      # offset of the IP header in an untagged Ethernet frame
_TCP6 = _IP + IPV6.size  # offset of the TCP header after a fixed IPv6 header
_FLAGS = TCP.offset("flags")
_DPORT = TCP.offset("dport")


def capture_source(version: int | None = None, daddr: int | None = None,
                   dports: range | None = None) -> list[str | Step]:
    """The filter before assembly. Each IP block ends in a test that jumps to "drop" when it
    fails; falling through it means the frame is kept."""
    if version not in (None, 4, 6):
        raise ValueError(f"IP version must be 4, 6 or None, not {version!r}")
    if daddr is not None and version is None:
        raise ValueError("an address filter needs the IP version")
    if dports is not None and (dports.step != 1 or not 0 <= dports.start < dports.stop <= 65536):
        raise ValueError(f"not a port range: {dports!r}")

    ipv4: list[str | Step] = [
        "ipv4",
        Step(LD_B_ABS, _IP + IPV4.offset("protocol")),
        Step(JEQ_K, IPPROTO_TCP, jf="drop"),
        Step(LD_H_ABS, _IP + IPV4.offset("flags_fragment")),
        Step(JSET_K, IPV4_FRAGMENT_OFFSET_MASK, jt="drop"),
    ]
    if daddr is not None:
        ipv4 += [Step(LD_W_ABS, _IP + IPV4.offset("dst")), Step(JEQ_K, daddr, jf="drop")]
    ipv4 += [
        Step(LDX_B_MSH, _IP + IPV4.offset("version_ihl")),
        Step(LD_B_IND, _IP + _FLAGS),
        Step(JEQ_K, SYN, jt="drop"),
    ]
    if dports is not None:
        ipv4 += [Step(LD_H_IND, _IP + _DPORT), *_port_range_tests(dports)]

    ipv6: list[str | Step] = [
        "ipv6",
        Step(LD_B_ABS, _IP + IPV6.offset("next_header")),
        Step(JEQ_K, IPPROTO_TCP, jf="drop"),
    ]
    if daddr is not None:
        for word in range(4):  # the 128-bit address as four 32-bit loads, high word first
            value = daddr >> (96 - 32 * word) & 0xFFFFFFFF
            ipv6 += [Step(LD_W_ABS, _IP + IPV6.offset("dst") + 4 * word), Step(JEQ_K, value, jf="drop")]
    ipv6 += [Step(LD_B_ABS, _TCP6 + _FLAGS), Step(JEQ_K, SYN, jt="drop")]
    if dports is not None:
        ipv6 += [Step(LD_H_ABS, _TCP6 + _DPORT), *_port_range_tests(dports)]

    blocks = {4: (ETH_P_IP, ipv4), 6: (ETH_P_IPV6, ipv6)}
    versions = (4, 6) if version is None else (version,)
    source: list[str | Step] = [Step(LD_H_ABS, ETHERNET.offset("ethertype"))]
    for index, number in enumerate(versions):
        last = index == len(versions) - 1
        source.append(Step(JEQ_K, blocks[number][0], jt=f"ipv{number}", jf="drop" if last else None))
    for number in versions:
        block = blocks[number][1]
        block[-1] = block[-1]._replace(jf="keep")
        source += block
    return source + ["keep", Step(RET_K, SNAP_LENGTH), "drop", Step(RET_K, 0)]


def _port_range_tests(dports: range) -> list[Step]:
    return [Step(JGE_K, dports.start, jf="drop"), Step(JGT_K, dports.stop - 1, jt="drop")]


class AssemblyError(ValueError):
    """A program with an unknown or duplicate label, or a jump the 8-bit offsets cannot hold."""


def assemble(source: Source) -> list[Instruction]:
    """Resolve labels into relative jump offsets."""
    labels: dict[str, int] = {}
    steps: list[Step] = []
    for item in source:
        if isinstance(item, str):
            if item in labels:
                raise AssemblyError(f"duplicate label {item!r}")
            labels[item] = len(steps)
        else:
            steps.append(item)

    def offset(label: str | None, index: int) -> int:
        if label is None:
            return 0
        if label not in labels:
            raise AssemblyError(f"unknown label {label!r}")
        distance = labels[label] - index - 1
        if not 0 <= distance <= 255:
            raise AssemblyError(f"jump to {label!r} from instruction {index} is out of range")
        return distance

    return [Instruction(step.code, offset(step.jt, index), offset(step.jf, index), step.k)
            for index, step in enumerate(steps)]


def capture_program(version: int | None = None, daddr: int | None = None,
                    dports: range | None = None) -> list[Instruction]:
    """LZR's filter (TCP except bare SYNs), optionally narrowed to IP `version`, destination
    address `daddr` (needs `version`) and destination ports `dports`."""
    return assemble(capture_source(version, daddr, dports))


PROGRAM: list[Instruction] = capture_program()

_SOCK_FILTER = struct.Struct("=HBBI")  # native order, as the kernel reads it


def pack_filter(program: Sequence[Instruction]) -> bytes:
    """The program as an array of `struct sock_filter`."""
    return b"".join(_SOCK_FILTER.pack(*instruction) for instruction in program)
