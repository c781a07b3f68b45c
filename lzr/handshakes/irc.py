"""IRC registration.

NICK and USER, the start of connection registration (RFC 2812 §3.1.2, §3.1.3). Servers
answer with lines of the message format of §2.3.1: a `:server` prefix and a command that is
NOTICE or a three-digit numeric (001 welcome, 433 nickname in use, 464 password...), or
unprefixed `NOTICE AUTH`, `PING` or `ERROR :Closing link` lines, which many daemons send
as soon as a client connects.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = b"NICK lzr\r\nUSER lzr 0 * :lzr\r\n"
UNPREFIXED = (b"NOTICE AUTH :", b"NOTICE * :", b"PING :", b"ERROR :Closing")
COMMANDS = (b"NOTICE", b"PING", b"PRIVMSG")

NEEDS = Needs(byte_in=bytes(prefix[0] for prefix in UNPREFIXED) + b":")


def match(data: bytes) -> str | None:
    if data.startswith(UNPREFIXED):
        return "irc"
    if data.startswith(b":"):
        parts = data.split(b" ", 2)
        if len(parts) == 3 and len(parts[0]) > 1:
            command = parts[1]
            if command in COMMANDS or (len(command) == 3 and command.isdigit()):
                return "irc"
    return None


HANDSHAKE = Handshake("irc", "IRC NICK and USER", False, constant(PROBE), match, NEEDS)
