"""AMQP protocol header.

LZR sends the 8-byte AMQP header `AMQP 0 0-1-0` (docs/lzr-reference.md §3.3). A broker
that does not speak that version answers with the header of the version it does speak
(AMQP 0-9-1 §4.2.2), so any `AMQP` in the reply names it (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = b"AMQP\x00\x01\x00\x00"

NEEDS = Needs(substrings=(b"AMQP",))


def match(data: bytes) -> str | None:
    return "amqp" if contains(data, b"AMQP") else None


HANDSHAKE = Handshake("amqp", "AMQP protocol header", False, constant(PROBE), match, NEEDS)
