"""SYN frames for thousands of targets at once: one template, patched column by column (numpy).

The template is `FrameBuilder.syn` for address 0, so the frames are byte for byte what the
builder makes one at a time (LZR's SYN: no IP or TCP options, window 65535). A batch writes
the fields that differ per target (destination address, ports, sequence number, the two
checksums, and the destination MAC when targets are directly connected) through a numpy
structured view of a reused buffer, so the frames sit back to back ready for `sendmmsg`.

Checksums are finished the way `lzr.wire.checksum` does: 2**16 is 1 modulo 0xFFFF, so a
32-bit or 128-bit field adds into the sum as its value modulo 0xFFFF, and the field is
`-sum mod 0xFFFF`.
"""
from __future__ import annotations

import numpy as np

from lzr.wire import FrameBuilder
from lzr.wire.build import TCP_HEADER_WORD, TTL
from lzr.wire.checksum import pseudo_header_sum
from lzr.wire.headers import ETHERNET, IPPROTO_TCP, IPV4, IPV6, TCP
from lzr.wire.segment import SYN

WINDOW = 65535
_TCP_AT = {4: ETHERNET.size + IPV4.size, 6: ETHERNET.size + IPV6.size}
_IP = ETHERNET.size


def _layout(version: int, frame_length: int) -> np.dtype:
    """The per-target fields of one frame, at their offsets, big-endian."""
    tcp = _TCP_AT[version]
    fields = [("mac", "u1", 6, 0)]
    if version == 4:
        fields += [("ip_checksum", ">u2", None, _IP + IPV4.offset("checksum")),
                   ("dst", ">u4", None, _IP + IPV4.offset("dst"))]
    else:
        dst = _IP + IPV6.offset("dst")
        fields += [("dst_high", ">u8", None, dst), ("dst_low", ">u8", None, dst + 8)]
    fields += [("sport", ">u2", None, tcp + TCP.offset("sport")),
               ("dport", ">u2", None, tcp + TCP.offset("dport")),
               ("seq", ">u4", None, tcp + TCP.offset("seq")),
               ("tcp_checksum", ">u2", None, tcp + TCP.offset("checksum"))]
    return np.dtype({
        "names": [name for name, _, _, _ in fields],
        "formats": [(code, (shape,)) if shape else code for _, code, shape, _ in fields],
        "offsets": [offset for _, _, _, offset in fields],
        "itemsize": frame_length})


class SynBatch:
    """Up to `capacity` SYN frames from one scanner address, rebuilt in place per batch."""

    def __init__(self, src_mac: bytes, dst_mac: bytes | None, src_ip: int, version: int,
                 capacity: int) -> None:
        builder = FrameBuilder(src_mac, dst_mac or bytes(6), src_ip, version)
        template = np.frombuffer(builder.syn(0, 0, 0, 0, WINDOW), np.uint8)
        self.version = version
        self.capacity = capacity
        self.frame_length = len(template)
        self.buffer = np.empty((capacity, self.frame_length), np.uint8)
        self.buffer[:] = template
        self.fields = self.buffer.view(_layout(version, self.frame_length))[:, 0]
        modulus = 0xFFFF
        # Everything of the TCP checksum but the per-target fields (cf. FrameBuilder.segment).
        self._tcp_constant = np.uint64((pseudo_header_sum(src_ip, 0, 0) + TCP_HEADER_WORD + SYN
                                        + WINDOW + TCP.size) % modulus)
        ip_base = (0x45 << 8) + (TTL << 8 | IPPROTO_TCP) + src_ip + IPV4.size + TCP.size
        self._ip_constant = np.uint64(ip_base % modulus)

    def build(self, addrs: np.ndarray, ports: np.ndarray, lports: np.ndarray, isns: np.ndarray,
              macs: np.ndarray | None = None) -> np.ndarray:
        """Write the frames of these targets into the buffer's first rows; returns those rows
        (an (N, frame_length) uint8 view). Addresses as `lzr.targets.walk` gives them;
        `macs` an (N, 6) uint8 array of next hops, or None for the batch's fixed one."""
        count = len(ports)
        if count > self.capacity:
            raise ValueError(f"{count} targets for a batch of {self.capacity}")
        fields = self.fields[:count]
        modulus = np.uint64(0xFFFF)
        total = ports.astype(np.uint64)
        total += lports
        total += isns
        total += self._tcp_constant
        if self.version == 4:
            dst = addrs.astype(np.uint64)
            fields["dst"] = addrs
            ip_total = dst + self._ip_constant
            fields["ip_checksum"] = (modulus - ip_total % modulus) % modulus
            total += dst
        else:
            high, low = addrs[:, 0], addrs[:, 1]
            fields["dst_high"] = high
            fields["dst_low"] = low
            total += high % modulus
            total += low % modulus
        fields["sport"] = lports
        fields["dport"] = ports
        fields["seq"] = isns
        fields["tcp_checksum"] = (modulus - total % modulus) % modulus
        if macs is not None:
            fields["mac"] = macs
        return self.buffer[:count]


def target_keys(version: int, addrs: np.ndarray, ports: np.ndarray) -> list[int]:
    """Engine keys (address << 16 | port) of targets given as arrays."""
    if version == 4:
        values = (addrs.astype(np.uint64) << np.uint64(16)) | ports.astype(np.uint64)
        return values.tolist()
    return [(high << 64 | low) << 16 | port
            for (high, low), port in zip(addrs.tolist(), ports.tolist())]


def key_arrays(version: int, targets: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(addresses, ports) arrays of (address, port) pairs, in the form SynBatch takes."""
    ports = np.array([port for _, port in targets], np.uint16)
    if version == 4:
        return np.array([addr for addr, _ in targets], np.uint32), ports
    addrs = np.array([(addr >> 64, addr & 0xFFFFFFFFFFFFFFFF) for addr, _ in targets],
                     np.uint64).reshape(-1, 2)
    return addrs, ports


def with_next_hops(neighbours, builder, version: int, addrs: np.ndarray, ports: np.ndarray,
                   lports: np.ndarray, isns: np.ndarray):
    """Directly connected targets (no gateway): (addrs, ports, lports, isns, macs) of the SYNs
    whose next hop's MAC `neighbours` (neighbours.NeighbourCache) knows, `macs` an (N, 6)
    array; each other SYN waits there for its MAC as a whole frame from `builder`."""
    known, keep, macs = neighbours.known, [], []
    for index, key in enumerate(target_keys(version, addrs, ports)):
        addr = key >> 16
        mac = known.get(addr)
        if mac is None:
            neighbours.hold(addr, builder.syn(addr, int(lports[index]), key & 0xFFFF,
                                              int(isns[index])))
        else:
            keep.append(index)
            macs.append(np.frombuffer(mac, np.uint8))
    return (addrs[keep], ports[keep], lports[keep], isns[keep],
            np.array(macs, np.uint8).reshape(-1, 6))
