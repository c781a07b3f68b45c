"""BGP, provoked with two newlines.

LZR sends `\n\n` (docs/lzr-reference.md §3.3); a BGP speaker answers with a message
(usually a NOTIFICATION) whose header starts with the 16-byte all-ones marker of RFC 4271
§4.1, which is LZR's rule (§3.1).
"""
from lzr.handshakes import newlines
from lzr.handshakes.base import Handshake, Needs

MARKER = b"\xff" * 16

NEEDS = Needs(byte_in=MARKER[:1])


def match(data: bytes) -> str | None:
    return "bgp" if data[:16] == MARKER else None


HANDSHAKE = Handshake(
    "bgp", "two newlines; names a BGP marker", False, newlines.HANDSHAKE.probe, match, NEEDS,
    same_probe_as="newlines",
)
