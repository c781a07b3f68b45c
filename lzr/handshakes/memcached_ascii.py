"""memcached text protocol `stats`.

LZR sends `stats\r\n` (docs/lzr-reference.md §3.3); memcached answers with `STAT <name>
<value>` lines, the first of which is `STAT pid` (memcached protocol.txt, "General-purpose
statistics"), which is LZR's rule (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = b"stats\r\n"

NEEDS = Needs(substrings=(b"STAT",))


def match(data: bytes) -> str | None:
    return "memcached_ascii" if contains(data, b"STAT") and contains(data, b"pid") else None


HANDSHAKE = Handshake(
    "memcached_ascii", "memcached text protocol stats", False, constant(PROBE), match, NEEDS
)
