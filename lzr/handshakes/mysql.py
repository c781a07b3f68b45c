"""MySQL/MariaDB greeting (server-first).

The server speaks first with a Handshake v10 packet (MySQL client/server protocol,
"Protocol::HandshakeV10"): a 3-byte length, sequence id 0, protocol version 10. LZR's rule
(docs/lzr-reference.md §3.1) checks those two bytes and a plausible minimum length.
"""
from lzr.handshakes.base import Handshake, Needs, constant

MIN_GREETING = 49
PROTOCOL_V10 = 0x0A

NEEDS = Needs(byte_in=bytes((PROTOCOL_V10,)), at=4)


def match(data: bytes) -> str | None:
    if len(data) >= MIN_GREETING and data[3] == 0 and data[4] == PROTOCOL_V10:
        return "mysql"
    return None


HANDSHAKE = Handshake("mysql", "wait for a MySQL greeting", True, constant(b""), match, NEEDS)
