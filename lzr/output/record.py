"""The result record, field for field LZR's (docs/lzr-reference.md §4.1).

Attribute names are Python's; `FIELDS` maps each to its JSON name in LZR's serialisation
order. Records are frozen: once emitted nothing may change them (LZR's queued pointers could
be mutated after queueing, docs/lzr-reference.md §7.3-5).

Every record the engine writes says how its target ended (`Outcome`), so the summary, the
simulator's report and `--extended` output read it instead of working it out again from
LZR's fields.
"""
import base64
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """How a target ended, ZGrab2-style: one of a small closed set."""

    IDENTIFIED = "identified"            # data that a rule names
    UNKNOWN_DATA = "unknown-data"        # data that no rule names
    RST = "rst"                          # reset after the handshake completed
    CLOSED = "closed"                    # a RST answered our SYN: nothing listens
    FIN = "fin"                          # closed (FIN) after the handshake, without data
    NO_SYNACK = "no-synack"              # our SYN was never answered
    ACKED_NO_DATA = "acked-no-data"      # the handshake completed, no data came in time
    ZERO_WINDOW = "zero-window"          # a SYN-ACK with a zero window: no probe can go
    ACKING_FIREWALL = "acking-firewall"  # the address completes handshakes on any port
    INTERRUPTED = "interrupted"          # the scan was interrupted before the target ended


@dataclass(frozen=True, slots=True)
class Record:
    saddr: str                    # target address (text)
    daddr: str                    # scanner address (text)
    sport: int                    # target port
    dport: int                    # scanner's local port of this connection
    seqnum: int
    acknum: int
    window: int
    ttl: int
    counter: int                  # retransmissions done on the reference packet
    ack: bool
    acked: bool                   # the target ACKed something during the target's lifetime
    syn: bool
    rst: bool
    fin: bool
    push: bool
    handshake_num: int
    fingerprint: str
    timestamp_ns: int | None      # Unix nanoseconds; None is Go's zero time
    expected_r_to_lzr: str = ""   # "sa" / "ack" / "data"; omitted when empty
    data: bytes = b""             # omitted when empty
    acking_firewall: bool = False  # omitted when false
    # Provenance, written only with --extended (not LZR fields).
    handshake: str = ""           # name of the handshake whose response gave the label
    handshakes_tried: int = 0
    identify_seconds: float | None = None  # first packet sent to final record
    outcome: Outcome | None = None        # set on every record the engine writes

    @property
    def data_base64(self) -> str:
        """The payload's exact bytes in standard base64 (`data` loses bytes that are not UTF-8)."""
        return base64.b64encode(self.data).decode("ascii")


# (attribute, JSON name, omitted when falsy) in LZR's order.
FIELDS = (
    ("saddr", "saddr", False),
    ("daddr", "daddr", False),
    ("sport", "sport", False),
    ("dport", "dport", False),
    ("seqnum", "seqnum", False),
    ("acknum", "acknum", False),
    ("window", "window", False),
    ("ttl", "ttl", False),
    ("counter", "Counter", False),
    ("ack", "ACK", False),
    ("acked", "ACKed", False),
    ("syn", "SYN", False),
    ("rst", "RST", False),
    ("fin", "FIN", False),
    ("push", "PUSH", False),
    ("handshake_num", "HandshakeNum", False),
    ("fingerprint", "fingerprint", True),
    ("timestamp_ns", "Timestamp", False),
    ("expected_r_to_lzr", "expectedRToLZR", True),
    ("data", "data", True),
    ("acking_firewall", "ackingFirewall", True),
)

# Written after FIELDS only with --extended.
EXTENDED_FIELDS = (
    ("handshake", "handshake", False),
    ("handshakes_tried", "handshakesTried", False),
    ("identify_seconds", "identifySeconds", False),
    ("outcome", "outcome", False),
    ("data_base64", "dataBase64", True),
)
