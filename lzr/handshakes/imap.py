"""IMAP banner (server-first).

IMAP servers greet first with an untagged `* OK`, `* PREAUTH` or `* BYE` (RFC 9051 §7.1).
LZR's rule (docs/lzr-reference.md §3.1) excludes POP3's `+OK`/`-ERR` greetings.
"""
from lzr.handshakes.base import Handshake, Needs, constant, mail_banner

GREETINGS = (b"* OK", b"* BYE", b"* PREAUTH")
POP3_GREETINGS = (b"+OK", b"-ERR")

NEEDS = Needs(byte_in=b"*", substrings=(b"imap", b"* OK"))


def match(data: bytes) -> str | None:
    return mail_banner(data, "imap", GREETINGS, POP3_GREETINGS, b"* OK")


HANDSHAKE = Handshake("imap", "wait for an IMAP banner", True, constant(b""), match, NEEDS)
