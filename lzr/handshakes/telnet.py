"""Telnet option negotiation (server-first).

Telnet servers usually open with IAC option commands (RFC 854): `ff` then WILL, WON'T, DO,
DON'T or SB. LZR's rule (docs/lzr-reference.md §3.1) looks at the second byte for one of
those commands (0xfb-0xff), or for a mention of telnet.
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains, lowercase

IAC_COMMANDS = frozenset((0xFF, 0xFE, 0xFD, 0xFC, 0xFB))

NEEDS = Needs(byte_in=bytes(IAC_COMMANDS), at=1, substrings=(b"telnet",))


def match(data: bytes) -> str | None:
    if len(data) >= 2 and (data[1] in IAC_COMMANDS or contains(lowercase(data), b"telnet")):
        return "telnet"
    return None


HANDSHAKE = Handshake("telnet", "wait for telnet negotiation", True, constant(b""), match, NEEDS)
