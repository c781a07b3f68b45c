"""IMAP banner (server-first).

IMAP servers greet first with an untagged `* OK`, `* PREAUTH` or `* BYE` (RFC 9051 §7.1).
LZR's rule (docs/lzr-reference.md §3.1) excludes POP3's `+OK`/`-ERR` greetings.
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains, lowercase

GREETINGS = (b"* OK", b"* BYE", b"* PREAUTH")
POP3_GREETINGS = (b"+OK", b"-ERR")

NEEDS = Needs(byte_in=b"*", substrings=(b"imap", b"* OK"))


def match(data: bytes) -> str | None:
    if not data or not data.isascii() or data.startswith(POP3_GREETINGS):
        return None
    if data.startswith(GREETINGS) or contains(lowercase(data), b"imap") or contains(data, b"* OK"):
        return "imap"
    return None


HANDSHAKE = Handshake("imap", "wait for an IMAP banner", True, constant(b""), match, NEEDS)
