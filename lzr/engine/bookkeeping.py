"""The bookkeeping half of the engine: targets and their connections opened, ended and
finished, and the segments that go with them (docs/engine.md).

`Engine` (engine.py) is this class plus the events: its public interface and the transitions
of transitions.py. The split is by reading, not by state: every attribute is set up in
`Engine.__init__`, and these methods are what the transitions call to act on it.
"""
from __future__ import annotations

from lzr.engine import send
from lzr.engine.records import fallback, keep_if_better
from lzr.engine.send import SYN_WINDOW
from lzr.engine.state import ANSWERED, BANNER_ASKED, STOPPED, InFlight
from lzr.engine.transitions import IDLE, LINGERING, PROBE_SENT, SYN_SENT
from lzr.output.record import Record
from lzr.wire.segment import SYN

# Ports and windows are 16-bit; taking them from one shared table instead of keeping the int
# objects that came with each input saves two objects per target in flight.
SIXTEEN_BITS = tuple(range(1 << 16))


class Bookkeeping:
    def _first_conn_seen(self, key: int, lport: int, now: float) -> InFlight:
        """A target whose handshake 0 the runtime or ZMap opened from local port `lport`."""
        target = self._new_target(key, now)
        target.next_hs, target.lport, target.hs = 1, SIXTEEN_BITS[lport], 0
        return target

    def _new_target(self, key: int, now: float) -> InFlight:
        target = self._targets[key] = InFlight(key, now if self.cfg.extended else None)
        if self._timing.budget is not None:     # --target-timeout
            self._timing.budget.arm(target, now)
        return target

    def _start_handshakes(self, target: InFlight, now: float) -> None:
        """Start handshakes while the target has some left and room to run them."""
        while self._wants_conn(target):
            if target.next_hs:
                if not self._firewall.allows(target, now):
                    if self._targets.get(target.key) is not target:
                        return      # it ended as an ACKing firewall's
                    break
                if not self._hosts.has_room(target.addr, now):
                    self._hosts.queue(target, now)
                    break
            self._open_conn(target, now)
        if (target.stopped or target.next_hs >= len(self._handshakes) or self._draining) and (
                not target.has_live_conns()):      # nothing left to try, nothing running
            self._finish(target, None, now)

    def _wants_conn(self, target: InFlight) -> bool:
        marks = target.marks
        if marks & BANNER_ASKED:
            self._timing.skip_spent_banners(target, self._handshakes)
        # When we send the SYNs, the first round waits for the port to answer one: a closed or
        # filtered port (most of them) costs one SYN, not --parallel.
        return (target.next_hs < len(self._handshakes) and not marks & STOPPED
                and (marks & ANSWERED or target.next_hs == 0 or self.cfg.force_all)
                and not self._draining and target.slots_taken() < self.cfg.parallel)

    def _open_queued_conn(self, target: InFlight, now: float) -> bool:
        """A slot at its address for a queued target: did its next connection open?"""
        allowed = self._firewall.allows(target, now)
        return allowed and self._open_conn(target, now) is None

    def _open_conn(self, target: InFlight, now: float) -> None:
        """Send the SYN of the target's next handshake from a fresh local port."""
        lport = self._ports.take_unused(target)
        conn = target.idle_conn()
        conn.lport = lport
        conn.hs = target.next_hs
        target.next_hs += 1
        conn.seq = self._rng.getrandbits(32)
        conn.ack, conn.window, conn.ttl, conn.flags = 0, SYN_WINDOW, 0, SYN
        conn.counter = conn.sent = 0
        conn.state = SYN_SENT
        if conn.hs and self._hosts.cap is not None:
            self._hosts.started(target.addr, now)
        self._sends.append(send.syn(conn))
        self._timing.first_syn.arm(conn, now)
        if conn.hs == 1 and self._firewall.probes:
            self._firewall.extra_connection(target, now)

    def _end_conn(self, conn, record: Record, now: float) -> None:
        """The connection is over without naming the service: keep its record in case
        nothing does, and go on with the target's other handshakes."""
        keep_if_better(conn.target, record)
        self._close_conn(conn)
        self._start_handshakes(conn.target, now)
        self._hosts.wake(conn.target.key >> 16, now)

    def _finish(self, target: InFlight, record: Record | None, now: float) -> None:
        """The target is done: reset its other open connections, write its final record."""
        for conn in target.live_conns():
            if conn.state != SYN_SENT:
                self._send_rst(conn, conn.ack)
            self._close_conn(conn)
        del self._targets[target.key]
        target.budget = None
        if self.cfg.force_all and target.fallback is not None and target.fallback.data:
            pass    # its data records are written: no trailing record (§2.11)
        elif record is not None:
            self._records.append(record)
        else:
            # Probe answers that came after the target's last packet still count (§2.13 race).
            self._records.append(fallback(target, now, self._firewall.flagged(target)))
        self._firewall.forget(target)
        self._hosts.wake(target.key >> 16, now)

    def _close_conn(self, conn) -> None:
        if conn.state != LINGERING:     # a lingering one gave its slot back already
            self._release_host_slot(conn)
        conn.deadline = None
        conn.state = IDLE
        target = conn.target
        if conn is not target:
            target.drop(conn)

    def _release_host_slot(self, conn) -> None:
        if conn.hs and self._hosts.cap is not None:
            self._hosts.ended(conn.target.addr)

    # ---- segments we send (send.py builds them, §2.6) ---------------------------------

    def _send_first_probe(self, conn, seq: int, ack: int, window: int, ttl: int, flags: int,
                          now: float) -> None:
        """Complete the handshake; the SYN-ACK becomes the connection's reference packet."""
        conn.state = PROBE_SENT
        target = conn.target
        target.marks |= ANSWERED
        if self._handshakes[conn.hs].server_first:
            target.marks |= BANNER_ASKED        # its window for a banner opens now
        conn.seq, conn.ack, conn.ttl, conn.flags = seq, ack, ttl, flags
        conn.window = SIXTEEN_BITS[window]
        conn.counter = 0
        payload = b"" if self.cfg.push_data_only else self._probe(conn)
        conn.sent = len(payload)
        self._sends.append(send.first_probe(conn, payload))
        self._timing.first_probe.arm(conn, now)

    def _retransmit_probe(self, conn) -> None:
        payload = self._probe(conn)
        conn.sent = len(payload) if conn.state == PROBE_SENT else conn.sent
        self._sends.append(send.retransmission(conn, payload))

    def _send_rst(self, conn, seq: int) -> None:
        self._sends.append(send.rst(conn, seq))

    def _probe(self, conn) -> bytes:
        return self._handshakes[conn.hs].probe(self.recorder.text(conn.target.key >> 16),
                                               self._rng)

