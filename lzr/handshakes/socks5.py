"""SOCKS5 method negotiation.

The client greeting of RFC 1928 §3: version 5, one method offered, 0x00 (no
authentication). A SOCKS5 proxy answers with exactly two bytes, version 5 and the method
it chose: 0x00, or 0xff when none of ours is acceptable; some insist on 0x01 (GSSAPI) or 0x02
(username/password, RFC 1929) regardless.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex("050100")
METHODS = frozenset((0x00, 0x01, 0x02, 0xFF))

NEEDS = Needs(byte_in=b"\x05")


def match(data: bytes) -> str | None:
    if len(data) == 2 and data[0] == 5 and data[1] in METHODS:
        return "socks5"
    return None


HANDSHAKE = Handshake(
    "socks5", "SOCKS5 greeting offering no authentication", False, constant(PROBE), match, NEEDS
)
