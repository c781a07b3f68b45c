"""Redis PING.

LZR sends PING as a RESP array (docs/lzr-reference.md §3.3; Redis serialization
protocol). A server answers `+PONG\r\n` (7 bytes), or an error that names Redis or says
`-ERR unknown` (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = b"*1\r\n$4\r\nPING\r\n"

NEEDS = Needs(substrings=(b"PONG", b"Redis", b"-ERR unknown"))


def match(data: bytes) -> str | None:
    if (len(data) == 7 and contains(data, b"PONG")) or contains(data, b"Redis", b"-ERR unknown"):
        return "redis"
    return None


HANDSHAKE = Handshake("redis", "Redis PING", False, constant(PROBE), match, NEEDS)
