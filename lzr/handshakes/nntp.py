"""NNTP greeting (server-first).

A news server speaks first with 200 (posting allowed) or 201 (posting prohibited) on one
CRLF-terminated line (RFC 3977 §5.1.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

GREETINGS = (b"200 ", b"201 ")

NEEDS = Needs(byte_in=b"2")


def match(data: bytes) -> str | None:
    if data.startswith(GREETINGS) and data.isascii() and contains(data, b"\r\n"):
        return "nntp"
    return None


HANDSHAKE = Handshake("nntp", "wait for an NNTP greeting", True, constant(b""), match, NEEDS)
