"""PPTP Start-Control-Connection-Request.

LZR's 156-byte SCCRQ (docs/lzr-reference.md §3.3; RFC 2637 §2.1): control message with
the magic cookie 0x1A2B3C4D, protocol version 1.0, framing and bearer capabilities 1, 65535
channels, empty host and vendor names. The reply carries the cookie back; LZR's rule looks for
its middle bytes `+<M` (§3.1).
"""
import struct

from lzr.handshakes.base import Handshake, Needs, constant, contains

MAGIC_COOKIE = 0x1A2B3C4D
PROBE = struct.pack(
    ">HHIHHHHIIHH64s64s",
    156,  # length
    1,  # control message
    MAGIC_COOKIE,
    1,  # Start-Control-Connection-Request
    0,
    0x0100,  # protocol version 1.0
    0,
    1,  # framing capabilities
    1,  # bearer capabilities
    65535,  # maximum channels
    1,  # firmware revision
    b"",  # host name
    b"",  # vendor
)

NEEDS = Needs(substrings=(b"+<M",))


def match(data: bytes) -> str | None:
    return "pptp" if contains(data, b"+<M") else None


HANDSHAKE = Handshake(
    "pptp", "PPTP Start-Control-Connection-Request", False, constant(PROBE), match, NEEDS
)
