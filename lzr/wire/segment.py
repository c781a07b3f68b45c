"""The parsed TCP segment every layer above the wire works with."""
from typing import NamedTuple

# TCP flag bits (RFC 9293 §3.1).
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20


class Segment(NamedTuple):
    """One TCP segment as seen on the wire.

    Addresses are integers (IPv4: 32 bits, IPv6: 128 bits) so that state keyed by them stays
    small; `version` says which. `ttl` is the IPv4 TTL or the IPv6 hop limit.
    """

    version: int
    saddr: int
    daddr: int
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    ttl: int
    payload: bytes
    src_mac: bytes = b""
    dst_mac: bytes = b""
