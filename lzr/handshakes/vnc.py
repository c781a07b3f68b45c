"""VNC/RFB banner (server-first).

An RFB server speaks first with its ProtocolVersion, `RFB 003.008\n` (RFC 6143 §7.1.1),
which is LZR's rule (docs/lzr-reference.md §3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

NEEDS = Needs(substrings=(b"RFB",))


def match(data: bytes) -> str | None:
    return "vnc" if contains(data, b"RFB") else None


HANDSHAKE = Handshake("vnc", "wait for an RFB banner", True, constant(b""), match, NEEDS)
