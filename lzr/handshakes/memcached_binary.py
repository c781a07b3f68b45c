"""memcached binary protocol `stat`.

LZR's 24-byte request header (docs/lzr-reference.md §3.3): magic 0x80, opcode 0x10
(stat), everything else zero (memcached binary protocol, "Request header"). A response
starts with magic 0x81; a text-only server answers `ERROR\r\n` (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = b"\x80\x10" + bytes(22)
RESPONSE_MAGIC = 0x81

NEEDS = Needs(byte_in=bytes((RESPONSE_MAGIC,)), substrings=(b"ERROR\r\n",))


def match(data: bytes) -> str | None:
    if data and (data[0] == RESPONSE_MAGIC or contains(data, b"ERROR\r\n")):
        return "memcached_binary"
    return None


HANDSHAKE = Handshake(
    "memcached_binary", "memcached binary protocol stat", False, constant(PROBE), match, NEEDS
)
