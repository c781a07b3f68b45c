"""The values target parsers produce, and their error types."""
from typing import NamedTuple


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
        return f"line {self.line_number}: {self.reason}: {self.line!r}"


class TargetSpecError(ValueError):
    """A target, port or address-list specification given as an option is invalid."""
