"""SSH identification string.

LZR sends `SSH-2.0-Go\r\n` (docs/lzr-reference.md §3.3; RFC 4253 §4.2); the server's
own identification string comes first in any case. LZR's rule (§3.1): ASCII that mentions
ssh, unless it is an error message (`not implemented`, `bad`).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains, lowercase

PROBE = b"SSH-2.0-Go\r\n"

NEEDS = Needs(substrings=(b"ssh",))


def match(data: bytes) -> str | None:
    if not data or not data.isascii():
        return None
    lower = lowercase(data)
    if contains(lower, b"ssh") and not contains(lower, b"not implemented", b"bad"):
        return "ssh"
    return None


HANDSHAKE = Handshake("ssh", "SSH-2.0 identification string", False, constant(PROBE), match, NEEDS)
