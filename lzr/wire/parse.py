"""Bytes from the wire -> `Segment`.

`parse_frame` reads an Ethernet frame, `parse_ip` a bare IP packet (as NFQUEUE hands them
over). Both return a `Segment` for an IPv4 or IPv6 TCP segment, None for a well-formed packet
that is something else (ARP, UDP, an IPv6 extension header, a non-first IPv4 fragment), and
raise `MalformedPacket` for bytes that break the formats. Checksums are not verified: on veth
and with receive offloads the kernel hands over segments whose checksum was never filled in.
"""
from __future__ import annotations

from .errors import MalformedPacket, Reason
from .headers import (ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, ETHERNET, IPPROTO_TCP, IPV4,
                      IPV4_FRAGMENT_OFFSET_MASK, IPV6, TCP, VLAN_TAG)
from .segment import Segment

_unpack_ipv4 = IPV4.struct.unpack_from
_unpack_ipv6 = IPV6.struct.unpack_from
_unpack_tcp = TCP.struct.unpack_from
_ETHERNET_SIZE = ETHERNET.size
_ETHERTYPE_AT = ETHERNET.offset("ethertype")
_SRC_MAC = slice(ETHERNET.offset("src"), ETHERNET.offset("src") + 6)
_DST_MAC = slice(ETHERNET.offset("dst"), ETHERNET.offset("dst") + 6)
_unpack_v4_frame = (ETHERNET + IPV4 + TCP).struct.unpack_from
_V4_FRAME_SIZE = ETHERNET.size + IPV4.size + TCP.size
_V4_TCP_AT = ETHERNET.size + IPV4.size


def parse_frame(buf: bytes) -> Segment | None:
    """Parse an Ethernet II frame (one 802.1Q tag is skipped); trailing padding is ignored."""
    if type(buf) is not bytes:
        buf = bytes(buf)
    # Fast path for the usual frame, untagged IPv4 without options carrying TCP: one unpack.
    # It accepts only frames that are valid in every respect; anything else takes the general
    # path, which gives the same answer or names what is wrong.
    size = len(buf)
    if size >= _V4_FRAME_SIZE and buf[_ETHERTYPE_AT] == 0x08 and buf[_ETHERTYPE_AT + 1] == 0x00 \
            and buf[_ETHERNET_SIZE] == 0x45:
        (dst_mac, src_mac, _ethertype, _version_ihl, _tos, total_length, _ident, flags_fragment, ttl,
         protocol, _checksum, saddr, daddr, sport, dport, seq, ack, offset_reserved, flags, window,
         _tcp_checksum, _urgent) = _unpack_v4_frame(buf)
        end = _ETHERNET_SIZE + total_length
        start = _V4_TCP_AT + (offset_reserved >> 4) * 4
        # A data offset >= 5 words and start <= end also prove the IP length covers both headers.
        if (protocol == IPPROTO_TCP and not flags_fragment & IPV4_FRAGMENT_OFFSET_MASK
                and offset_reserved >= 0x50 and start <= end <= size):
            return Segment(4, saddr, daddr, sport, dport, seq, ack, flags, window, ttl, buf[start:end],
                           src_mac, dst_mac)
    return _parse_ethernet(buf)


def _parse_ethernet(buf: bytes) -> Segment | None:
    size = len(buf)
    if size < _ETHERNET_SIZE:
        raise MalformedPacket(Reason.TRUNCATED, ETHERNET.name)
    ethertype = buf[_ETHERTYPE_AT] << 8 | buf[_ETHERTYPE_AT + 1]
    start = _ETHERNET_SIZE
    if ethertype == ETH_P_8021Q:
        if size < start + VLAN_TAG.size:
            raise MalformedPacket(Reason.TRUNCATED, VLAN_TAG.name)
        ethertype = buf[start + 2] << 8 | buf[start + 3]
        start += VLAN_TAG.size
    if ethertype == ETH_P_IP:
        return _ipv4(buf, start, size, buf[_SRC_MAC], buf[_DST_MAC])
    if ethertype == ETH_P_IPV6:
        return _ipv6(buf, start, size, buf[_SRC_MAC], buf[_DST_MAC])
    return None


def parse_ip(buf: bytes) -> Segment | None:
    """Parse a bare IPv4 or IPv6 packet (no link-layer header); the version nibble decides."""
    if type(buf) is not bytes:
        buf = bytes(buf)
    if not buf:
        raise MalformedPacket(Reason.TRUNCATED, "IP")
    version = buf[0] >> 4
    if version == 4:
        return _ipv4(buf, 0, len(buf), b"", b"")
    if version == 6:
        return _ipv6(buf, 0, len(buf), b"", b"")
    raise MalformedPacket(Reason.WRONG_VERSION, "IP")


def _ipv4(buf: bytes, start: int, size: int, src_mac: bytes, dst_mac: bytes) -> Segment | None:
    if size - start < 20:
        raise MalformedPacket(Reason.TRUNCATED, IPV4.name)
    (version_ihl, _tos, total_length, _ident, flags_fragment, ttl, protocol, _checksum,
     saddr, daddr) = _unpack_ipv4(buf, start)
    if version_ihl >> 4 != 4:
        raise MalformedPacket(Reason.WRONG_VERSION, IPV4.name)
    header_length = (version_ihl & 0x0F) * 4
    if header_length < 20:
        raise MalformedPacket(Reason.BAD_IHL, IPV4.name)
    if total_length < header_length:
        raise MalformedPacket(Reason.LENGTH_BELOW_HEADER, IPV4.name)
    end = start + total_length
    if end > size:
        raise MalformedPacket(Reason.LENGTH_BEYOND_BUFFER, IPV4.name)
    # A non-first fragment carries the middle of a segment, not a TCP header.
    if protocol != IPPROTO_TCP or flags_fragment & IPV4_FRAGMENT_OFFSET_MASK:
        return None
    return _tcp(buf, start + header_length, end, 4, saddr, daddr, ttl, src_mac, dst_mac)


def _ipv6(buf: bytes, start: int, size: int, src_mac: bytes, dst_mac: bytes) -> Segment | None:
    if size - start < 40:
        raise MalformedPacket(Reason.TRUNCATED, IPV6.name)
    version_class_flow, payload_length, next_header, hop_limit, src, dst = _unpack_ipv6(buf, start)
    if version_class_flow >> 28 != 6:
        raise MalformedPacket(Reason.WRONG_VERSION, IPV6.name)
    end = start + 40 + payload_length
    if end > size:
        raise MalformedPacket(Reason.LENGTH_BEYOND_BUFFER, IPV6.name)
    # Extension headers are not followed: LZR's capture filter does not follow them either.
    if next_header != IPPROTO_TCP:
        return None
    return _tcp(buf, start + 40, end, 6, int.from_bytes(src, "big"), int.from_bytes(dst, "big"),
                hop_limit, src_mac, dst_mac)


def _tcp(buf: bytes, start: int, end: int, version: int, saddr: int, daddr: int, ttl: int,
         src_mac: bytes, dst_mac: bytes) -> Segment:
    if end - start < 20:
        raise MalformedPacket(Reason.TRUNCATED, TCP.name)
    sport, dport, seq, ack, offset_reserved, flags, window, _checksum, _urgent = _unpack_tcp(buf, start)
    # Options lie between the fixed header and the data offset; the scanner needs none of them.
    header_length = (offset_reserved >> 4) * 4
    if header_length < 20 or start + header_length > end:
        raise MalformedPacket(Reason.BAD_DATA_OFFSET, TCP.name)
    return Segment(version, saddr, daddr, sport, dport, seq, ack, flags, window, ttl,
                   buf[start + header_length:end], src_mac, dst_mac)
