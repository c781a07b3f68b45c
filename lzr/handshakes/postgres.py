"""PostgreSQL SSLRequest.

LZR sends the 8-byte SSLRequest, length 8 and code 80877103 (docs/lzr-reference.md §3.3;
PostgreSQL protocol §55.2.10). The server answers with exactly one byte: `S` (go ahead with
TLS), `N` (no TLS), or `E` from servers too old to know the request (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex("00000008" "04d2162f")
ANSWERS = (b"N", b"S", b"E")

NEEDS = Needs(byte_in=b"".join(ANSWERS))


def match(data: bytes) -> str | None:
    return "postgres" if data in ANSWERS else None


HANDSHAKE = Handshake("postgres", "PostgreSQL SSLRequest", False, constant(PROBE), match, NEEDS)
