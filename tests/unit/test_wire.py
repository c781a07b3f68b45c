"""The codec against scapy as an independent oracle: frames built, frames parsed, checksums."""
import ipaddress

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import IP, TCP, UDP, IPOption_NOP, IPOption_RR
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Padding, Raw
from scapy.utils import checksum as scapy_checksum

from lzr.wire import headers
from lzr.wire import (ACK, FIN, PSH, RST, SYN, URG, FrameBuilder, MalformedPacket, Reason, Segment,
                      internet_checksum, ipv4_header_checksum, parse_addr, parse_frame, parse_ip,
                      tcp_checksum)

SRC_MAC, DST_MAC, OTHER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"
ADDRESSES = {4: ("192.0.2.1", "198.51.100.7"), 6: ("2001:db8::1", "2001:db8:0:ff::7")}
FLAG_NAMES = {FIN: "F", SYN: "S", RST: "R", PSH: "P", ACK: "A", URG: "U"}


def ether(**fields) -> Ether:
    """An Ethernet header with both MACs given: scapy must never resolve a MAC (that sends ARP)."""
    return Ether(src=DST_MAC, dst=SRC_MAC, **fields)


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def builder(version: int) -> FrameBuilder:
    return FrameBuilder(mac(SRC_MAC), mac(DST_MAC), parse_addr(ADDRESSES[version][0])[1], version)


def scapy_frame(version, sport, dport, seq, ack, flags, window, payload=b"", dst_mac=DST_MAC, dst=None):
    """What the scanner must send, as scapy builds it (LZR's header values,
    docs/lzr-reference.md §6.2)."""
    src, dst = ADDRESSES[version][0], dst or ADDRESSES[version][1]
    ip = IP(src=src, dst=dst, id=0, flags=0, ttl=64) if version == 4 else IPv6(src=src, dst=dst, hlim=64)
    tcp_flags = "".join(name for bit, name in FLAG_NAMES.items() if flags & bit)
    packet = Ether(src=SRC_MAC, dst=dst_mac) / ip / TCP(
        sport=sport, dport=dport, seq=seq, ack=ack, flags=tcp_flags, window=window) / Raw(payload)
    data = bytes(packet)
    return data + bytes(max(0, 60 - len(data)))


CASES = [
    # name, flags, ack, window, payload
    ("syn", SYN, 0, 65535, b""),
    ("ack+payload", ACK, 0x89ABCDEF, 502, b"GET / HTTP/1.1\r\nHost: 198.51.100.7\r\n\r\n"),
    ("psh+ack", PSH | ACK, 1, 64240, b"\x16\x03\x01\x00\x05hello"),
    ("rst", RST, 0, 0, b""),
    ("rst+ack", RST | ACK, 7, 0, b""),
    ("fin+ack odd payload", FIN | ACK, 99, 1024, b"x"),
]


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("name,flags,ack,window,payload", CASES, ids=[case[0] for case in CASES])
def test_built_frame_equals_scapy(version, name, flags, ack, window, payload):
    dst = parse_addr(ADDRESSES[version][1])[1]
    ours = builder(version).segment(dst, 40001, 8080, 0xFEDCBA98, ack, flags, window, payload)
    assert ours == scapy_frame(version, 40001, 8080, 0xFEDCBA98, ack, flags, window, payload)


@pytest.mark.parametrize("version", [4, 6])
def test_syn_equals_scapy_and_defaults_to_full_window(version):
    dst = parse_addr(ADDRESSES[version][1])[1]
    assert builder(version).syn(dst, 61000, 443, 12345) == scapy_frame(version, 61000, 443, 12345, 0, SYN, 65535)
    assert builder(version).syn(dst, 61000, 443, 12345, window=1000) == scapy_frame(
        version, 61000, 443, 12345, 0, SYN, 1000)


@pytest.mark.parametrize("version", [4, 6])
def test_destination_mac_override_is_per_frame(version):
    build, dst = builder(version), parse_addr(ADDRESSES[version][1])[1]
    direct = build.segment(dst, 1, 2, 3, 4, ACK, 5, b"", dst_mac=mac(OTHER_MAC))
    assert direct == scapy_frame(version, 1, 2, 3, 4, ACK, 5, dst_mac=OTHER_MAC)
    assert build.segment(dst, 1, 2, 3, 4, ACK, 5)[:6] == mac(DST_MAC)


@settings(max_examples=150, deadline=None)
@given(version=st.sampled_from([4, 6]), sport=st.integers(0, 65535), dport=st.integers(0, 65535),
       seq=st.integers(0, 2**32 - 1), ack=st.integers(0, 2**32 - 1), flags=st.integers(0, 0x3F),
       window=st.integers(0, 65535), payload=st.binary(max_size=80), data=st.data())
def test_any_built_frame_equals_scapy(version, sport, dport, seq, ack, flags, window, payload, data):
    dst = data.draw(st.integers(0, 2**32 - 1) if version == 4 else st.integers(0, 2**128 - 1))
    ours = builder(version).segment(dst, sport, dport, seq, ack, flags, window, payload)
    text = str(ipaddress.ip_address(dst) if version == 4 else ipaddress.IPv6Address(dst))
    assert ours == scapy_frame(version, sport, dport, seq, ack, flags, window, payload, dst=text)


@pytest.mark.parametrize("version", [4, 6])
def test_checksum_is_zero_not_ffff_when_the_sum_folds_to_ffff(version):
    """Choose a payload word that makes the ones'-complement sum 0xFFFF: the field must be 0."""
    build, dst = builder(version), parse_addr(ADDRESSES[version][1])[1]
    probe = build.segment(dst, 1000, 2000, 5, 6, ACK, 7, b"\x00\x00")
    checksum_at = 14 + (20 if version == 4 else 40) + 16
    word = probe[checksum_at:checksum_at + 2]
    frame = build.segment(dst, 1000, 2000, 5, 6, ACK, 7, word)
    assert frame[checksum_at:checksum_at + 2] == b"\x00\x00"
    assert frame == scapy_frame(version, 1000, 2000, 5, 6, ACK, 7, word)


@pytest.mark.parametrize("version", [4, 6])
def test_scapy_reads_our_frames_as_built(version):
    src, dst = ADDRESSES[version]
    frame = builder(version).segment(parse_addr(dst)[1], 40001, 80, 17, 23, PSH | ACK, 512, b"probe")
    packet = Ether(frame)
    ip = packet[IP] if version == 4 else packet[IPv6]
    assert (packet.src, packet.dst, ip.src, ip.dst) == (SRC_MAC, DST_MAC, src, dst)
    tcp = packet[TCP]
    assert (tcp.sport, tcp.dport, tcp.seq, tcp.ack, int(tcp.flags), tcp.window) == (40001, 80, 17, 23, 0x18, 512)
    assert bytes(tcp.payload)[:5] == b"probe"
    # scapy recomputes both checksums when they are deleted: they must not change.
    if version == 4:
        del packet[IP].chksum
    del packet[TCP].chksum
    assert bytes(packet) == frame


def expected_segment(packet, version, payload, ttl=64):
    ip = packet[IP] if version == 4 else packet[IPv6]
    tcp = packet[TCP]
    return Segment(version, parse_addr(ip.src)[1], parse_addr(ip.dst)[1], tcp.sport, tcp.dport,
                   tcp.seq, tcp.ack, int(tcp.flags), tcp.window, ttl, payload,
                   mac(packet[Ether].src), mac(packet[Ether].dst))


TCP_OPTIONS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 2)), ("NOP", None), ("WScale", 7)]


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("tcp_options", [[], TCP_OPTIONS], ids=["no-options", "tcp-options"])
@pytest.mark.parametrize("payload", [b"", b"SSH-2.0-OpenSSH_9.2\r\n"], ids=["empty", "payload"])
def test_parses_scapy_frames(version, tcp_options, payload):
    src, dst = ADDRESSES[version]
    ip = IP(src=dst, dst=src, ttl=51) if version == 4 else IPv6(src=dst, dst=src, hlim=51)
    packet = Ether(src=DST_MAC, dst=SRC_MAC) / ip / TCP(
        sport=22, dport=40001, seq=3, ack=4, flags="SA" if not payload else "PA", window=29200,
        options=tcp_options) / Raw(payload)
    assert parse_frame(bytes(packet)) == expected_segment(packet, version, payload, ttl=51)


def test_parses_ipv4_with_ip_options():
    packet = Ether(src=DST_MAC, dst=SRC_MAC) / IP(
        src="198.51.100.7", dst="192.0.2.1", options=[IPOption_RR(routers=["10.0.0.1"]), IPOption_NOP()]
    ) / TCP(sport=80, dport=40001, flags="A") / Raw(b"data")
    assert Ether(bytes(packet))[IP].ihl > 5
    assert parse_frame(bytes(packet)) == expected_segment(packet, 4, b"data")


@pytest.mark.parametrize("version", [4, 6])
def test_ethernet_padding_is_not_payload(version):
    src, dst = ADDRESSES[version]
    ip = IP(src=dst, dst=src) if version == 4 else IPv6(src=dst, dst=src)
    packet = Ether(src=DST_MAC, dst=SRC_MAC) / ip / TCP(sport=80, dport=40001, flags="R")
    padded = bytes(packet / Padding(b"\xAA" * 20))
    assert parse_frame(padded).payload == b""
    assert parse_frame(bytes(packet) + b"abc").payload == b""


def test_skips_one_vlan_tag():
    packet = Ether(src=DST_MAC, dst=SRC_MAC) / Dot1Q(vlan=42) / IP(src="198.51.100.7", dst="192.0.2.1") / TCP(
        sport=80, dport=40001, flags="SA")
    assert parse_frame(bytes(packet)) == expected_segment(packet, 4, b"")


@pytest.mark.parametrize("version", [4, 6])
def test_parse_ip_reads_bare_packets(version):
    src, dst = ADDRESSES[version]
    ip = IP(src=dst, dst=src) if version == 4 else IPv6(src=dst, dst=src)
    packet = ip / TCP(sport=80, dport=40001, seq=9, ack=10, flags="PA", window=7) / Raw(b"hi")
    segment = parse_ip(bytes(packet))
    assert segment == expected_segment(Ether(src=SRC_MAC, dst=SRC_MAC) / packet, version, b"hi")._replace(
        src_mac=b"", dst_mac=b"")


@pytest.mark.parametrize("frame", [
    ether() / ARP(),
    ether() / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=53, dport=53),
    ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(),
    ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrHopByHop() / TCP(),
    ether() / IP(src="192.0.2.1", dst="192.0.2.2", frag=3, proto=6) / Raw(b"x" * 24),
    ether(type=0x88CC) / Raw(b"\x00" * 50),
], ids=["arp", "udp4", "udp6", "ipv6-extension-header", "ipv4-later-fragment", "lldp"])
def test_well_formed_non_tcp_is_none(frame):
    assert parse_frame(bytes(frame)) is None


def good_v4() -> bytearray:
    return bytearray(bytes(ether() / IP(src="192.0.2.1", dst="192.0.2.2") / TCP(flags="A") / Raw(b"abcd")))


def good_v6() -> bytearray:
    return bytearray(bytes(ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(flags="A") / Raw(b"abcd")))


def patched(frame: bytearray, offset: int, value: bytes) -> bytes:
    frame[offset:offset + len(value)] = value
    return bytes(frame)


MALFORMED = [
    ("short ethernet", b"\x00" * 13, Reason.TRUNCATED, "Ethernet"),
    ("short vlan tag", bytes(ether(type=0x8100)) + b"\x00", Reason.TRUNCATED, "802.1Q"),
    ("short ipv4", bytes(good_v4()[:14 + 19]), Reason.TRUNCATED, "IPv4"),
    ("ipv4 wrong version", patched(good_v4(), 14, b"\x65"), Reason.WRONG_VERSION, "IPv4"),
    ("ihl below 5", patched(good_v4(), 14, b"\x44"), Reason.BAD_IHL, "IPv4"),
    ("total length below ihl", patched(good_v4(), 16, b"\x00\x13"), Reason.LENGTH_BELOW_HEADER, "IPv4"),
    ("total length beyond buffer", patched(good_v4(), 16, b"\x00\xff"), Reason.LENGTH_BEYOND_BUFFER, "IPv4"),
    ("ihl beyond total length", patched(good_v4(), 14, b"\x4f"), Reason.LENGTH_BELOW_HEADER, "IPv4"),
    ("short tcp", patched(good_v4(), 16, b"\x00\x27"), Reason.TRUNCATED, "TCP"),
    ("data offset below 5", patched(good_v4(), 14 + 20 + 12, b"\x40"), Reason.BAD_DATA_OFFSET, "TCP"),
    ("data offset beyond segment", patched(good_v4(), 14 + 20 + 12, b"\x70"), Reason.BAD_DATA_OFFSET, "TCP"),
    ("short ipv6", bytes(good_v6()[:14 + 39]), Reason.TRUNCATED, "IPv6"),
    ("ipv6 wrong version", patched(good_v6(), 14, b"\x40"), Reason.WRONG_VERSION, "IPv6"),
    ("ipv6 payload beyond buffer", patched(good_v6(), 18, b"\x00\x80"), Reason.LENGTH_BEYOND_BUFFER, "IPv6"),
    ("ipv6 data offset beyond", patched(good_v6(), 14 + 40 + 12, b"\xf0"), Reason.BAD_DATA_OFFSET, "TCP"),
]


@pytest.mark.parametrize("frame,reason,layer", [case[1:] for case in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_frames_name_the_reason(frame, reason, layer):
    with pytest.raises(MalformedPacket) as caught:
        parse_frame(frame)
    assert (caught.value.reason, caught.value.layer) == (reason, layer)
    assert isinstance(caught.value, ValueError)
    assert reason.value in str(caught.value)


@pytest.mark.parametrize("packet,reason", [(b"", Reason.TRUNCATED), (b"\x50" + bytes(39), Reason.WRONG_VERSION)])
def test_parse_ip_rejects_what_is_not_ip(packet, reason):
    with pytest.raises(MalformedPacket) as caught:
        parse_ip(packet)
    assert caught.value.reason == reason


def test_accepts_bytes_like_input():
    frame = bytes(ether() / IP(src="192.0.2.1", dst="192.0.2.2") / TCP(flags="A") / Raw(b"xyz"))
    for view in (bytearray(frame), memoryview(frame)):
        segment = parse_frame(view)
        assert type(segment.payload) is bytes and segment == parse_frame(frame)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_internet_checksum_equals_scapy(data):
    # scapy returns the complemented sum with the same fold; both give 0xFFFF for all zeros.
    assert internet_checksum(data) == scapy_checksum(data)


def test_ipv4_header_checksum_equals_scapy():
    packet = IP(bytes(IP(src="192.0.2.1", dst="203.0.113.9", ttl=17, id=4242, tos=0x10) / TCP()))
    header = bytearray(bytes(packet)[:20])
    header[10:12] = b"\x00\x00"
    assert ipv4_header_checksum(bytes(header)) == packet.chksum


@settings(max_examples=100, deadline=None)
@given(version=st.sampled_from([4, 6]), payload=st.binary(max_size=101))
def test_tcp_checksum_equals_scapy(version, payload):
    src, dst = ADDRESSES[version]
    layer = IP if version == 4 else IPv6
    packet = layer(bytes(layer(src=src, dst=dst) / TCP(sport=5, dport=6, flags="PA") / Raw(payload)))
    segment = bytearray(bytes(packet[TCP]))
    segment[16:18] = b"\x00\x00"
    assert tcp_checksum(parse_addr(src)[1], parse_addr(dst)[1], bytes(segment)) == packet[TCP].chksum


def test_header_tables_give_the_rfc_offsets_and_sizes():
    ethernet, ipv4, ipv6, tcp = headers.ETHERNET, headers.IPV4, headers.IPV6, headers.TCP
    assert (ethernet.size, ipv4.size, ipv6.size, tcp.size) == (14, 20, 40, 20)
    assert (ipv4.offset("ttl"), ipv4.offset("protocol"), ipv4.offset("src"), ipv4.offset("dst")) == (8, 9, 12, 16)
    assert (ipv6.offset("next_header"), ipv6.offset("src"), ipv6.offset("dst")) == (6, 8, 24)
    assert (tcp.offset("seq"), tcp.offset("flags"), tcp.offset("window")) == (4, 13, 14)
    frame = ethernet + ipv4 + tcp
    assert frame.size == 54
    assert frame.offset("ipv4.dst") == 30 and frame.offset("tcp.flags") == 47
