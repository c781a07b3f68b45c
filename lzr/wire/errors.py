"""The one error type the wire parsers raise for bytes that cannot be a valid packet."""
from enum import Enum


class Reason(str, Enum):
    """Why a packet was rejected; the values read well in log lines."""

    TRUNCATED = "truncated header"
    BAD_DATA_OFFSET = "bad data offset"
    BAD_IHL = "IHL < 5"
    WRONG_VERSION = "wrong version"
    LENGTH_BEYOND_BUFFER = "length field beyond the buffer"
    LENGTH_BELOW_HEADER = "length field shorter than the header"


class MalformedPacket(ValueError):
    """Bytes that claim to be a packet but break its format.

    `reason` is a `Reason`; `layer` names the header that was broken ("Ethernet", "IPv4", ...).
    """

    def __init__(self, reason: Reason, layer: str) -> None:
        super().__init__(f"{layer}: {reason.value}")
        self.reason = reason
        self.layer = layer
