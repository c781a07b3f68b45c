"""DNS over TCP.

LZR's 37-byte query (docs/lzr-reference.md §3.3): a 2-byte length prefix (RFC 1035
§4.2.2), id 0x3962, recursion desired, one question `stackoverflow.com` A IN. A server
echoes the question in its answer, which is what LZR's rule looks for (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = bytes.fromhex(
    "0023" "39620100" "0001000000000000" "0d737461636b6f766572666c6f7703636f6d00" "00010001"
)

NEEDS = Needs(substrings=(b"stackoverflow",))


def match(data: bytes) -> str | None:
    return "dns" if contains(data, b"stackoverflow") else None


HANDSHAKE = Handshake(
    "dns", "DNS query for stackoverflow.com A over TCP", False, constant(PROBE), match, NEEDS
)
