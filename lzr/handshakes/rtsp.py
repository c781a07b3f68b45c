"""RTSP OPTIONS.

LZR sends `OPTIONS / RTSP/1.0` with no headers (docs/lzr-reference.md §3.3; RFC 2326
§10.1). Any reply that says RTSP, an `RTSP/1.0` status line included, names it (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = b"OPTIONS / RTSP/1.0\r\n\r\n"

NEEDS = Needs(substrings=(b"RTSP",))


def match(data: bytes) -> str | None:
    return "rtsp" if contains(data, b"RTSP") else None


HANDSHAKE = Handshake("rtsp", "RTSP OPTIONS", False, constant(PROBE), match, NEEDS)
