"""POP3 banner (server-first).

POP3 servers greet first with `+OK` (RFC 1939 §4); LZR's rule (docs/lzr-reference.md
§3.1) also takes `-ERR` and excludes IMAP's untagged greetings.
"""
from lzr.handshakes.base import Handshake, Needs, constant, mail_banner
from lzr.handshakes.imap import GREETINGS as IMAP_GREETINGS

GREETINGS = (b"+OK", b"-ERR")

NEEDS = Needs(byte_in=bytes(greeting[0] for greeting in GREETINGS), substrings=(b"pop3", b"+OK"))


def match(data: bytes) -> str | None:
    return mail_banner(data, "pop3", GREETINGS, IMAP_GREETINGS, b"+OK")


HANDSHAKE = Handshake("pop3", "wait for a POP3 banner", True, constant(b""), match, NEEDS)
