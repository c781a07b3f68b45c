"""STOMP CONNECT (ActiveMQ, Artemis, RabbitMQ's STOMP plugin).

A CONNECT frame of the STOMP 1.2 specification ("Connecting"): the command, the
`accept-version` and `host` headers, an empty line and the NUL that ends every frame. The
broker answers with a CONNECTED frame, or an ERROR frame (bad login, unknown virtual host)
whose headers include `message`.
"""
from random import Random

from lzr.handshakes.base import Handshake, Needs, contains, host_text

ANSWERS = (b"CONNECTED\n", b"CONNECTED\r\n", b"ERROR\n", b"ERROR\r\n")


def probe(target: str, rng: Random | None = None) -> bytes:
    return b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:" + host_text(target).encode() + b"\n\n\x00"


NEEDS = Needs(byte_in=bytes(answer[0] for answer in ANSWERS))


def match(data: bytes) -> str | None:
    if data.startswith(ANSWERS) and (data.startswith(b"CONNECTED") or contains(data, b"message:")):
        return "stomp"
    return None


HANDSHAKE = Handshake("stomp", "STOMP 1.2 CONNECT", False, probe, match, NEEDS)
