"""What the engine asks to send (Send)."""
from typing import NamedTuple


class Send(NamedTuple):
    """One TCP segment from the scanner to a target; the runtime builds the frame."""

    daddr: int      # the target's address
    sport: int      # our local port
    dport: int      # the target's port
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes
