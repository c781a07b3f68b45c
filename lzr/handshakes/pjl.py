"""HP PJL INFO ID on a raw printing port.

Printer Job Language (HP PJL Technical Reference Manual): the Universal Exit Language
sequence `ESC%-12345X`, `@PJL INFO ID`, and UEL again to end the job, so nothing is printed.
A PJL printer answers with the command echoed, `@PJL INFO ID`, then its model in quotes.
"""
from lzr.handshakes.base import Handshake, Needs, constant

UEL = b"\x1b%-12345X"
PROBE = UEL + b"@PJL INFO ID\r\n" + UEL

NEEDS = Needs(byte_in=b"@")


def match(data: bytes) -> str | None:
    return "pjl" if data.startswith(b"@PJL INFO ID") else None


HANDSHAKE = Handshake(
    "pjl", "HP PJL INFO ID on a raw print port", False, constant(PROBE), match, NEEDS
)
