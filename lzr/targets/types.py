"""The values target parsers produce, and their error types."""
from typing import NamedTuple

from lzr.targets.lines import quote


class SynAck(NamedTuple):
    """A SYN-ACK ZMap already received: the scanner continues this handshake.

    Named from the target's point of view like LZR's records: `saddr`/`sport` are the target,
    `daddr`/`dport` the scanner's address and the local port ZMap used. `seq` is the target's
    ISN, `ack` the scanner's ISN + 1 (both unsigned 32-bit), `window` the target's window.
    """

    version: int
    saddr: int
    daddr: int
    sport: int
    dport: int
    seq: int
    ack: int
    window: int
    ttl: int


class Target(NamedTuple):
    """An address and port the scanner sends its own SYN to."""

    version: int
    addr: int
    port: int


class LineError(NamedTuple):
    """An input line that could not be read; parsers yield these instead of raising."""

    line_number: int   # 1-based
    line: str          # the line as read, without its line ending
    reason: str

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason}: {quote(self.line)}"


def decimal_value(text: str, max_digits: int) -> int | None:
    """The value of unsigned decimal text (ASCII digits, leading zeros allowed); None if it is
    not that, or has more than `max_digits` significant digits. Python refuses to convert text
    of over 4,300 digits, so the length is checked first."""
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0") or "0"
    return int(significant) if len(significant) <= max_digits else None


class TargetSpecError(ValueError):
    """A target, port or address-list specification given as an option is invalid."""
