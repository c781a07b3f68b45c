"""The connection state machine as data: states, events, and which handler each event of
each state runs (docs/lzr-reference.md §2). Engine methods named `_on_<handler>` do the work.

A connection's state is LZR's expectedRToLZR (§2.1): what we wait for from the target.
"""
from lzr.wire.segment import ACK, FIN, RST, SYN

MOD32 = 0xFFFFFFFF

# States.
IDLE = 0            # carries no handshake: a target waiting for a slot, or done with its own
SYN_SENT = 1        # our SYN is out: waiting for the SYN-ACK ("sa")
PROBE_SENT = 2      # the ACK with the probe is out: waiting for its ACK or an answer ("ack")
PROBE_ACKED = 3     # the target ACKed the probe: waiting for its answer ("data")
LINGERING = 4       # PROBE_ACKED past its answer wait, a first-round probe waiting out the rest
                    # of -t without its --parallel slot (docs/identification.md, "Silent ports")
EXPECTED = {IDLE: "", SYN_SENT: "sa", PROBE_SENT: "ack", PROBE_ACKED: "data", LINGERING: "data"}

# Events: what an accepted segment is (§2.5, in that order of precedence), or a timer.
DATA, CLOSE, SYNACK, REFUSED, PURE_ACK, TIMER = range(6)

#   state           event      handler            next state
TRANSITIONS = {
    SYN_SENT: {
        SYNACK:     "synack",        # PROBE_SENT; a zero window ends the target
        DATA:       "data",          # as data below
        REFUSED:    "refused",       # connection ends, no new handshake starts
        TIMER:      "syn_timer",     # SYN_SENT (resent), or connection ends
    },
    PROBE_SENT: {
        DATA:       "data",          # the target ends, or the connection (unknown data)
        CLOSE:      "close",         # connection ends (RST or FIN)
        PURE_ACK:   "probe_acked",   # PROBE_ACKED
        TIMER:      "probe_timer",   # PROBE_SENT (resent), or connection ends
    },
    PROBE_ACKED: {
        DATA:       "data",
        CLOSE:      "close",
        PURE_ACK:   "probe_acked",   # a duplicate ACK: nothing changes
        TIMER:      "probe_timer",   # PROBE_ACKED (resent), LINGERING, or connection ends
    },
}
TRANSITIONS[LINGERING] = TRANSITIONS[PROBE_ACKED]
# In any state, a SYN-ACK or pure ACK of a target whose address the ACKing-firewall probes
# condemned ends the target ("acking_firewall", §2.5 step 4). Anything else (no flags, a
# repeated SYN-ACK, numbers that do not fit) is not accepted and changes nothing.


def accept(conn, seg) -> int | None:
    """The event the segment is for this connection, or None if it is not accepted (§2.4)."""
    flags = seg.flags
    if conn.state == SYN_SENT:
        # Only answers to our SYN: they must acknowledge exactly its ISN.
        if not flags & ACK or seg.ack != (conn.seq + 1) & MOD32:
            return None
        if seg.payload:
            return DATA
        if flags & RST:
            return REFUSED
        return SYNACK if flags & SYN else None
    if seg.seq != conn.seq and seg.seq != (conn.seq + 1) & MOD32:
        return None
    if seg.ack != (conn.ack + conn.sent) & MOD32 and seg.ack != 0:
        return None
    if seg.payload:
        return DATA
    if flags & (RST | FIN):
        return CLOSE
    if flags & SYN or not flags & ACK:
        return None         # a repeated SYN-ACK, or no flags at all: nothing to act on
    return PURE_ACK
