"""POP3 banner (server-first).

POP3 servers greet first with `+OK` (RFC 1939 §4); LZR's rule (docs/lzr-reference.md
§3.1) also takes `-ERR` and excludes IMAP's untagged greetings.
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains, lowercase
from lzr.handshakes.imap import GREETINGS as IMAP_GREETINGS

GREETINGS = (b"+OK", b"-ERR")

NEEDS = Needs(byte_in=bytes(greeting[0] for greeting in GREETINGS), substrings=(b"pop3", b"+OK"))


def match(data: bytes) -> str | None:
    if not data or not data.isascii() or data.startswith(IMAP_GREETINGS):
        return None
    if data.startswith(GREETINGS) or contains(lowercase(data), b"pop3") or contains(data, b"+OK"):
        return "pop3"
    return None


HANDSHAKE = Handshake("pop3", "wait for a POP3 banner", True, constant(b""), match, NEEDS)
