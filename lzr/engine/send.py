"""What the engine asks to send (Send), and the segments of LZR's arithmetic
(docs/lzr-reference.md §2.6), built from a connection's reference packet (state.py)."""
from typing import NamedTuple

from lzr.engine.transitions import MOD32, PROBE_SENT
from lzr.wire.segment import ACK, PSH, RST, SYN

SYN_WINDOW = 65535                  # the window of every SYN we send (§2.2)


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


def syn(conn) -> Send:
    key = conn.target.key
    return Send(key >> 16, conn.lport, key & 0xFFFF, conn.seq, 0, SYN, SYN_WINDOW, b"")


def first_probe(conn, payload: bytes) -> Send:
    """The ACK completing the handshake whose SYN-ACK is the reference, with the probe; PSH
    only on retransmissions (§2.3)."""
    key = conn.target.key
    return Send(key >> 16, conn.lport, key & 0xFFFF, conn.ack, (conn.seq + 1) & MOD32, ACK,
                conn.window, payload)


def retransmission(conn, payload: bytes) -> Send:
    if conn.state == PROBE_SENT:
        seq, ack = conn.ack, (conn.seq + 1) & MOD32
    else:
        # The target has ACKed the probe: send it again where it was, a true duplicate.
        # LZR sends it after itself as new data and acks one byte too far (§7.3-7).
        seq, ack = (conn.ack - len(payload)) & MOD32, conn.seq
    key = conn.target.key
    return Send(key >> 16, conn.lport, key & 0xFFFF, seq, ack, PSH | ACK, conn.window, payload)


def rst(conn, seq: int) -> Send:
    key = conn.target.key
    return Send(key >> 16, conn.lport, key & 0xFFFF, seq, 0, RST, 0, b"")
