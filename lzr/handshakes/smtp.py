"""SMTP EHLO.

LZR sends a bare `EHLO\r\n` (docs/lzr-reference.md §3.3); the server's greeting
(RFC 5321 §4.2) arrives first in any case. LZR's rule (§3.1): a mention of smtp or ehlo, or a
usual greeting code without any mention of ftp. No ASCII check, unlike ftp's.
"""
from lzr.handshakes.base import BANNER_CODES, Handshake, Needs, constant, contains, lowercase

PROBE = b"EHLO\r\n"

NEEDS = Needs(byte_in=bytes(code[0] for code in BANNER_CODES), substrings=(b"smtp", b"ehlo"))


def match(data: bytes) -> str | None:
    lower = lowercase(data)
    if contains(lower, b"smtp", b"ehlo"):
        return "smtp"
    if len(data) >= 4 and data.startswith(BANNER_CODES) and not contains(lower, b"ftp"):
        return "smtp"
    return None


HANDSHAKE = Handshake("smtp", "SMTP EHLO", False, constant(PROBE), match, NEEDS)
