"""What the engine is told once (EngineConfig) and what it asks to send (Send)."""
from dataclasses import dataclass
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


@dataclass(frozen=True)
class EngineConfig:
    """The scan settings the state machine needs (LZR's flags, docs/lzr-reference.md §5, and ours).

    `compat` makes the engine behave as LZR (with its defects fixed): one handshake at a time,
    and the first data ends the target whatever it says. Without it, data no rule recognises
    lets the next handshake go on, up to `parallel` handshakes of a target run at once, and
    the engine never holds more than `per_host_limit` extra connections to one address
    (None: as many as `parallel`) and starts at most `host_rate` of them per second (0: no
    limit). A target's first connection is not an extra one: it is the port scan itself.
    """

    handshakes: tuple[str, ...] = ("http",)
    priority: tuple[str, ...] = ()
    timeout: float = 5.0            # -t
    retransmit_after: float = 1.0   # -rt
    retries: int = 1                # -rn
    haf: int = 0
    haf_threshold: float = 1.0
    force_all: bool = False
    push_data_only: bool = False
    compat: bool = False
    parallel: int = 4
    per_host_limit: int | None = None
    host_rate: float = 20.0         # like ZGrab2's per-IP rate limit
    extended: bool = False

    def __post_init__(self) -> None:
        if not self.handshakes:
            raise ValueError("at least one handshake is needed")
        if self.timeout <= 0 or self.retransmit_after <= 0:
            raise ValueError("timeout and retransmit_after must be positive")
        if self.retries < 0 or self.haf < 0:
            raise ValueError("retries and haf must not be negative")
        if not 0.0 <= self.haf_threshold <= 1.0:
            raise ValueError("haf_threshold must be in [0, 1]")
        if self.parallel < 1 or (self.per_host_limit is not None and self.per_host_limit < 1):
            raise ValueError("parallel and per_host_limit must be at least 1")
        if self.host_rate < 0:
            raise ValueError("host_rate must not be negative")
