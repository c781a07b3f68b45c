"""Building a target's record (docs/lzr-reference.md §4.3): which packet it shows, and how.

A record shows either a segment the target sent (data, a close, a SYN-ACK) or, when a
connection ran out of time, its reference packet (state.py) stamped with the time it was last
sent or received, as LZR's. A target that nothing names for sure ends with its `fallback`:
the best of its connections' records.
"""
from dataclasses import replace
from socket import inet_ntoa

from lzr.engine.send import SYN_WINDOW
from lzr.engine.transitions import EXPECTED, SYN_SENT
from lzr.fingerprint import UNKNOWN
from lzr.output.record import Outcome, Record
from lzr.wire.addr import exploded_ipv6
from lzr.wire.segment import ACK, FIN, PSH, RST, SYN


class Recorder:
    def __init__(self, version: int, scanner_addr: int, handshake_names: tuple[str, ...]) -> None:
        self.version = version
        self._names = handshake_names
        self._scanner_text = self.text(scanner_addr)

    def text(self, addr: int) -> str:
        """Addresses as LZR writes them: dotted quad, or exploded IPv6 (§4.1, §6.6)."""
        return exploded_ipv6(addr) if self.version == 6 else inet_ntoa(addr.to_bytes(4, "big"))

    def of_segment(self, conn, seg, now: float, outcome: Outcome, *, expected: str = "",
                   label: str = UNKNOWN, acked: bool | None = None) -> Record:
        """A segment the target sent on `conn` (Counter 0: nothing was retransmitted)."""
        target = conn.target
        return self._record(
            target, conn, now, seq=seg.seq, ack=seg.ack, window=seg.window, ttl=seg.ttl,
            flags=seg.flags, counter=0, expected=expected, data=seg.payload, label=label,
            acked=target.acked if acked is None else acked, timestamp_ns=round(now * 1e9),
            outcome=outcome, acking_firewall=outcome == Outcome.ACKING_FIREWALL)

    def of_reference(self, conn, now: float, *, sent_at: float) -> Record:
        """The reference packet of a connection that timed out."""
        outcome = Outcome.NO_SYNACK if conn.state == SYN_SENT else Outcome.ACKED_NO_DATA
        return self._record(
            conn.target, conn, now, seq=conn.seq, ack=conn.ack, window=conn.window,
            ttl=conn.ttl, flags=conn.flags, counter=conn.counter, expected=EXPECTED[conn.state],
            data=b"", label=UNKNOWN, acked=conn.target.acked, timestamp_ns=round(sent_at * 1e9),
            outcome=outcome)

    def of_firewall(self, conn, now: float) -> Record:
        """The reference packet of a connection of a target whose address was found to be an
        ACKing firewall: LZR writes such a record without expectedRToLZR."""
        return self._record(
            conn.target, conn, now, seq=conn.seq, ack=conn.ack, window=conn.window,
            ttl=conn.ttl, flags=conn.flags, counter=conn.counter, expected="", data=b"",
            label=UNKNOWN, acked=conn.target.acked, timestamp_ns=round(now * 1e9),
            outcome=Outcome.ACKING_FIREWALL, acking_firewall=True)

    def of_zero_window(self, addr: int, port: int, lport: int, *, seq: int, ack: int,
                       ttl: int) -> Record:
        """ZMap's zero-window SYN-ACK, as it is: ZMap gave no time, so the record carries
        Go's zero time as LZR's does (§2.3)."""
        return Record(
            saddr=self.text(addr), daddr=self._scanner_text, sport=port, dport=lport,
            seqnum=seq, acknum=ack, window=0, ttl=ttl, counter=0, ack=True, acked=False,
            syn=True, rst=False, fin=False, push=False, handshake_num=0, fingerprint=UNKNOWN,
            timestamp_ns=None, outcome=Outcome.ZERO_WINDOW)

    def of_unanswered(self, addr: int, port: int, lport: int, *, isn: int, retransmissions: int,
                      sent_at: float, started: float | None, now: float,
                      outcome: Outcome = Outcome.NO_SYNACK) -> Record:
        """A SYN the runtime sent without engine state that nothing answered: the record of a
        SYN that timed out (its reference packet is the SYN, stamped when last sent), or of
        one whose wait the scan's end cut short (`Outcome.INTERRUPTED`)."""
        return Record(
            saddr=self.text(addr), daddr=self._scanner_text, sport=port, dport=lport,
            seqnum=isn, acknum=0, window=SYN_WINDOW, ttl=0, counter=retransmissions, ack=False,
            acked=False, syn=True, rst=False, fin=False, push=False, handshake_num=0,
            fingerprint=UNKNOWN, timestamp_ns=round(sent_at * 1e9), expected_r_to_lzr="sa",
            handshakes_tried=1, identify_seconds=None if started is None else now - started,
            outcome=outcome)

    def _record(self, target, conn, now: float, *, seq: int, ack: int, window: int, ttl: int,
                flags: int, counter: int, expected: str, data: bytes, label: str, acked: bool,
                timestamp_ns: int, outcome: Outcome, acking_firewall: bool = False) -> Record:
        key, hs = target.key, conn.hs
        return Record(
            saddr=self.text(key >> 16), daddr=self._scanner_text, sport=key & 0xFFFF,
            dport=conn.lport, seqnum=seq, acknum=ack, window=window, ttl=ttl, counter=counter,
            ack=bool(flags & ACK), acked=acked, syn=bool(flags & SYN), rst=bool(flags & RST),
            fin=bool(flags & FIN), push=bool(flags & PSH), handshake_num=hs, fingerprint=label,
            timestamp_ns=timestamp_ns, expected_r_to_lzr=expected, data=data,
            acking_firewall=acking_firewall,
            handshake=self._names[hs] if data else "", handshakes_tried=target.next_hs,
            identify_seconds=None if target.started is None else now - target.started,
            outcome=outcome)


def _rank(record: Record | None) -> int:
    """What a target that nothing names for sure ends with: the first provisionally named
    data (rank 2), else the first data (1), else the latest attempt (0)."""
    if record is None:
        return -1
    if not record.data:
        return 0
    return 1 if record.fingerprint == UNKNOWN else 2


def keep_if_better(target, record: Record) -> None:
    """A connection of `target` ended with `record` without naming the service."""
    rank, kept = _rank(record), _rank(target.fallback)
    if rank > kept or rank == kept == 0:
        target.fallback = record


def fallback(target, now: float, acking_firewall: bool) -> Record:
    """The final record of a target that nothing named for sure, written at `now`."""
    final = target.fallback
    tried, seconds = target.next_hs, None if target.started is None else now - target.started
    if acking_firewall and not final.data:
        return replace(final, handshakes_tried=tried, identify_seconds=seconds,
                       acking_firewall=True, outcome=Outcome.ACKING_FIREWALL)
    # Mostly the record says so already, and `replace` costs more than building one.
    if (final.handshakes_tried, final.identify_seconds) != (tried, seconds):
        final = replace(final, handshakes_tried=tried, identify_seconds=seconds)
    return final
