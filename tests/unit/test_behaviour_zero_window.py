"""The zero-window behaviour's rewrite, checked against scapy: the window becomes 0, the TCP
checksum is right again and no other byte changes; whatever is not a TCP segment lzr.wire can
read passes unchanged instead of stopping the NFQUEUE program."""
import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import IP, TCP, UDP, IPOption_NOP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop

from lzr_sim.behaviours.nfqueue import zero_window

V4 = dict(src="192.0.2.1", dst="198.51.100.7")
V6 = dict(src="2001:db8::1", dst="2001:db8:0:ff::7")
SYN_ACK = dict(sport=9000, dport=40001, seq=1000, ack=2000, flags="SA", window=64240,
               options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)])
DATA = dict(sport=9000, dport=40001, seq=1001, ack=2000, flags="PA", window=502)

SEGMENTS = {
    "ipv4 syn-ack": IP(**V4) / TCP(**SYN_ACK),
    "ipv4 options, odd payload": IP(**V4, options=[IPOption_NOP()] * 4) / TCP(**DATA) / b"hello",
    "ipv6 syn-ack": IPv6(**V6) / TCP(**SYN_ACK),
    "ipv6 data": IPv6(**V6) / TCP(**DATA) / (b"x" * 301),
}


def with_zero_window(packet):
    """What the rewrite must give: the same packet with window 0, its checksum computed by scapy."""
    expected = packet.copy()
    expected[TCP].window = 0
    expected[TCP].chksum = None
    return bytes(expected)


@pytest.mark.parametrize("name", SEGMENTS)
def test_the_window_is_zeroed_and_the_checksum_fixed(name):
    packet = SEGMENTS[name]
    original = bytes(packet)
    rewritten = zero_window(original)
    assert rewritten == with_zero_window(packet)
    assert rewritten != original
    layer = IP if IP in packet else IPv6
    assert layer(rewritten)[TCP].window == 0


def test_bytes_after_the_ip_length_stay_as_they_were():
    packet = SEGMENTS["ipv4 syn-ack"]
    padding = b"\xaa" * 6
    assert zero_window(bytes(packet) + padding) == with_zero_window(packet) + padding


NOT_SEGMENTS = {
    "udp": IP(**V4) / UDP(sport=53, dport=40001) / b"answer",
    "ipv6 extension header": IPv6(**V6) / IPv6ExtHdrHopByHop() / TCP(**SYN_ACK),
    "ipv4 non-first fragment of tcp": IP(**V4, frag=3, proto=6) / (b"\x00" * 24),
}


@pytest.mark.parametrize("name", NOT_SEGMENTS)
def test_other_packets_pass_unchanged(name):
    original = bytes(NOT_SEGMENTS[name])
    assert zero_window(original) == original


def truncated_tcp():
    return bytes(IP(**V4, len=30) / TCP(**SYN_ACK))[:30]


def bad_data_offset():
    return bytes(IP(**V4) / TCP(**DATA, dataofs=15) / b"short")


@pytest.mark.parametrize("malformed", [
    b"", b"\x45", b"\x60" + bytes(10), b"\x70" + bytes(40),
    bytes(IP(**V4) / TCP(**SYN_ACK))[:30],                   # IP length beyond the buffer
    truncated_tcp(), bad_data_offset(),
    bytes(IP(**V4, ihl=3) / TCP(**SYN_ACK)),
], ids=["empty", "one byte", "short ipv6", "version 7", "cut", "truncated tcp", "data offset",
        "ihl 3"])
def test_malformed_packets_pass_unchanged(malformed):
    assert zero_window(malformed) == malformed


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(list(SEGMENTS.values())), st.integers(0, 120), st.binary(max_size=8))
def test_a_damaged_segment_never_raises(packet, cut, noise):
    damaged = bytes(packet)[:cut] + noise
    result = zero_window(damaged)
    assert len(result) == len(damaged)
