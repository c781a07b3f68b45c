"""FTP banner (server-first).

FTP servers greet first (RFC 959 §5.4). LZR's rule (docs/lzr-reference.md §3.1): an
ASCII reply that mentions ftp, or that starts with one of the usual greeting codes and
mentions neither smtp nor ehlo (SMTP greets with 220 too).
"""
from lzr.handshakes.base import BANNER_CODES, Handshake, Needs, constant, contains, lowercase

NEEDS = Needs(byte_in=bytes(code[0] for code in BANNER_CODES), substrings=(b"ftp",))


def match(data: bytes) -> str | None:
    if not data or not data.isascii():
        return None
    lower = lowercase(data)
    if contains(lower, b"ftp"):
        return "ftp"
    if len(data) >= 4 and data.startswith(BANNER_CODES):
        if not contains(lower, b"smtp", b"ehlo"):
            return "ftp"
    return None


HANDSHAKE = Handshake("ftp", "wait for an FTP banner", True, constant(b""), match, NEEDS)
