"""NATS INFO (server-first).

A NATS server speaks first with `INFO {...}` and a JSON object describing itself,
`server_id` included (NATS client protocol, "INFO").
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

NEEDS = Needs(byte_in=b"I")


def match(data: bytes) -> str | None:
    return "nats" if data.startswith(b"INFO {") and contains(data, b'"server_id"') else None


HANDSHAKE = Handshake("nats", "wait for a NATS INFO", True, constant(b""), match, NEEDS)
