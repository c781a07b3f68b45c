"""Per-target and per-connection state, kept small: millions of targets are in flight at once.

A connection holds what LZR keeps in its reference packet (docs/lzr-reference.md §1.4): the
last packet sent to or accepted from the target on this connection, whose fields go into the
record if the connection ends on a timer, and from which the next segment's seq/ack are
computed. Its `state` is one of transitions.py's.

A target is also its own first connection: most targets never have more than one, and one
object per target is what keeps memory per target under a few hundred bytes. Parallel
handshakes add `Conn` objects in `more`.
"""
from lzr.engine.transitions import IDLE, LINGERING


class _Connection:
    __slots__ = (
        "lport",     # our local port
        "hs",        # index of this connection's handshake in the handshake list
        "state",
        "counter",   # retransmissions done (LZR's Counter)
        "seq",       # reference packet, target's view: its seq, ack, window, ttl, flags
        "ack",
        "window",
        "ttl",
        "flags",
        "sent",      # payload bytes we sent from the reference (LZR's LZRResponseL)
        "deadline",  # the armed timer's deadline object, None when no timer is armed
    )


class Conn(_Connection):
    """A connection of a target beyond its first (parallel handshakes)."""

    __slots__ = ("target",)

    def __init__(self, target: "InFlight") -> None:
        self.target = target
        self.state = IDLE
        self.deadline = None


# The bits of `InFlight.marks`; the engine's hot paths test and set them directly.
ACKED, STOPPED, WAITING, HELD, BANNER_ASKED, ANSWERED = (1 << i for i in range(6))


def _mark(bit: int) -> property:
    """A yes/no fact about a target, kept as one bit of `InFlight.marks`."""
    def get(self) -> bool:
        return bool(self.marks & bit)

    def set(self, on: bool) -> None:
        self.marks = self.marks | bit if on else self.marks & ~bit

    return property(get, set)


class InFlight(_Connection):
    """A target ip:port in flight, and its first connection."""

    __slots__ = (
        "key",          # address << 16 | port: the key of the engine's table
        "next_hs",      # index of the next handshake to start (= handshakes started)
        "more",         # further live connections (list of Conn) or None
        "fallback",     # the record to write if nothing identifies the service
        "started",      # when we first sent to the target (only for --extended output)
        "silent",       # client-first probes it ACKed and never answered
        "budget",       # its --target-timeout deadline object (timers.BudgetQueue), or None
        "marks",        # the bits behind the yes/no properties below
    )

    acked = _mark(ACKED)        # the target ACKed something on some connection (LZR's ACKed)
    stopped = _mark(STOPPED)    # start no more handshakes (the port stopped answering SYNs)
    waiting = _mark(WAITING)    # queued for a per-host connection slot
    held = _mark(HELD)          # waiting for its address's ACKing-firewall verdict
    banner_asked = _mark(BANNER_ASKED)      # a server-first handshake's window opened
    answered = _mark(ANSWERED)  # the port answered a SYN (ours or ZMap's): it is open

    def __init__(self, key: int, started: float | None) -> None:
        self.key = key
        self.state = IDLE
        self.deadline = None
        self.next_hs = 0
        self.more = None
        self.fallback = None
        self.started = started
        self.silent = 0
        self.budget = None
        self.marks = 0

    @property
    def target(self) -> "InFlight":
        return self

    @property
    def addr(self) -> int:
        return self.key >> 16

    def has_live_conns(self) -> bool:
        return self.state != IDLE or self.more is not None

    def live_conns(self) -> list:
        conns = [self] if self.state != IDLE else []
        if self.more:
            conns.extend(self.more)
        return conns

    def slots_taken(self) -> int:
        """Its connections that hold one of its --parallel slots: all live ones but those
        LINGERING."""
        taken = self.state not in (IDLE, LINGERING)
        for conn in self.more or ():
            taken += conn.state != LINGERING
        return taken

    def idle_conn(self):
        """A connection for the next handshake: the target itself if it is free, else a new
        `Conn`, kept in `more` until `drop`."""
        if self.state == IDLE:
            return self
        conn = Conn(self)
        if self.more is None:
            self.more = []
        self.more.append(conn)
        return conn

    def drop(self, conn: Conn) -> None:
        """`conn` (now IDLE, one of `more`) no longer runs a handshake."""
        self.more.remove(conn)
        if not self.more:
            self.more = None

    def conn_on(self, lport: int):
        """The live connection using our local port `lport`, or None."""
        if self.state != IDLE and self.lport == lport:
            return self
        for conn in self.more or ():
            if conn.lport == lport:
                return conn
        return None
