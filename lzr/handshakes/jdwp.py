"""Java Debug Wire Protocol handshake.

JDWP starts with the client sending the 14 ASCII bytes `JDWP-Handshake` and the VM sending
the same 14 bytes back (Java Platform Debugger Architecture, JDWP specification,
"Handshake"). An exposed debug port is remote code execution, worth naming wherever it is.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = b"JDWP-Handshake"

NEEDS = Needs(byte_in=PROBE[:1])


def match(data: bytes) -> str | None:
    return "jdwp" if data.startswith(PROBE) else None


HANDSHAKE = Handshake("jdwp", "JDWP handshake", False, constant(PROBE), match, NEEDS)
