"""LZR's per-target state machine (docs/lzr-reference.md §2), with no I/O at all.

Inputs are events: a SYN-ACK already seen by ZMap or the runtime's stateless SYN
(`add_synack`), a RST refusing such a SYN (`add_refused`), a target to SYN (`add_target`), a
TCP segment (`receive`), the time (`advance`), and the scan's end (`drain`: no new handshakes;
`interrupt`: every target ends now). Outputs wait until taken: segments (`take_sends`), final
records (`take_records`), the next deadline (`next_deadline`). The clock is the caller's.

Invariants
 1. A target is in `_targets` from its first input until its final record is emitted; then
    nothing of it is left: no connection, no live timer, no per-host slot.
 2. Every live connection has exactly one current timer; an old timer entry is recognised by
    its deadline object (see timers.py) and never acts.
 3. Every target ends with exactly one final record; under -forceAllHandshakes, one record
    per handshake that returned data, or one final record if none did.
 4. A segment acts only if it is accepted (§2.4) by the live connection on its local port.
 5. Records are built once, complete, and never changed afterwards.
 6. A connection's lifetime is bounded whatever the target sends: only timers and the first
    of each kind of answer move it, and retries are counted per connection.

transitions.py holds the state machine as a table: the handler each event of each state
runs. When a connection ends without naming the service, the target starts its next
handshake on a fresh local port, or, with none left and no connection live, writes its final
record (§2.10). The side concerns have their own modules (docs/engine.md).
"""
from __future__ import annotations

import random
from dataclasses import replace
from typing import TYPE_CHECKING

from lzr import handshakes
from lzr.engine.firewall import AddressVerdicts, TargetProbes
from lzr.engine.hosts import HostLimits
from lzr.engine.ports import LocalPorts
from lzr.engine import send
from lzr.engine.bookkeeping import SIXTEEN_BITS, Bookkeeping
from lzr.engine.records import Recorder, fallback
from lzr.engine.send import SYN_WINDOW, Send
from lzr.engine.state import ANSWERED, InFlight
from lzr.engine.timers import Timers
from lzr.engine.timing import Timing
from lzr.engine.transitions import (
    LINGERING, MOD32, PROBE_ACKED, PURE_ACK, REFUSED, SYN_SENT, SYNACK, TIMER,
    TRANSITIONS, accept,
)
from lzr.fingerprint import UNKNOWN, label_of, labels, sure_labels
from lzr.output.record import Outcome, Record
from lzr.wire.segment import ACK, RST, SYN

if TYPE_CHECKING:
    from lzr.config import EngineConfig


class Engine(Bookkeeping):
    def __init__(self, cfg: EngineConfig, version: int, scanner_addr: int, local_ports: range,
                 seed: int = 0) -> None:
        self.cfg = cfg
        self.version = version
        self._rng = random.Random(seed)
        self._handshakes = tuple(handshakes.get(name) for name in cfg.handshakes)
        self._ports = LocalPorts(local_ports, self._rng)
        self._targets: dict[int, InFlight] = {}
        self._sends: list[Send] = []
        self._records: list[Record] = []
        self.recorder = Recorder(version, scanner_addr, cfg.handshakes)
        self._hosts = HostLimits(  # a queued target may have ended meanwhile
            cfg.per_host_limit, cfg.host_rate,
            lambda t: self._targets.get(t.key) is t and self._wants_conn(t), self._open_queued_conn)
        shared = (cfg, self._ports, self._rng, self._targets, self._sends)
        self._firewall = TargetProbes(*shared) if cfg.compat else AddressVerdicts(
            *shared, on_verdict=self._on_verdict)
        timing = self._timing = Timing(cfg)
        self._timer = timing.timeout
        # Earliest first on a tie: a connection's, a host's, a probe's, a target's budget.
        self._timers = Timers([(queue, self._conn_timer(queue.delay))
                               for queue in timing.conn_queues] + [
            (queue, self._conn_timer(cfg.timeout)) for queue in timing.lingers.values()] + [
            (self._hosts.timer, self._hosts.on_timer),
            (self._firewall.timer, self._firewall.on_timer),
        ] + ([(timing.budget, self._end_now)] if timing.budget is not None else []))
        self._handlers = {state: {event: getattr(self, "_on_" + name)
                                  for event, name in events.items()}
                          for state, events in TRANSITIONS.items()}
        self._draining = False

    # ---- public interface -------------------------------------------------------------

    @property
    def in_flight(self) -> int:     # targets without their final record yet
        return len(self._targets)

    def add_synack(self, saddr: int, sport: int, dport: int, seq: int, ack: int, window: int,
                   ttl: int, now: float) -> None:
        """A target ZMap already has a SYN-ACK for; its handshake 0 starts on ZMap's port."""
        key = saddr << 16 | sport
        if key in self._targets:
            return
        if window == 0:
            # Nothing can be sent to a zero window: record the SYN-ACK as it is (§2.3).
            self._records.append(self.recorder.of_zero_window(saddr, sport, dport, seq=seq,
                                                               ack=ack, ttl=ttl))
            return
        target = self._first_conn_seen(key, dport, now)
        self._send_first_probe(target, seq, ack, window, ttl, SYN | ACK, now)
        self._start_handshakes(target, now)

    def add_refused(self, seg, now: float) -> None:
        """A RST that refused a SYN sent without engine state (the runtime's stateless SYNs,
        validated on arrival): the target's handshake 0 ends as a closed port (§2.8)."""
        key = seg.saddr << 16 | seg.sport
        if key in self._targets:
            self.receive(seg, now)
            return
        target = self._first_conn_seen(key, seg.dport, now)
        target.state = SYN_SENT
        target.seq, target.ack, target.window, target.ttl, target.flags = (
            (seg.ack - 1) & MOD32, 0, SYN_WINDOW, 0, SYN)
        target.counter = target.sent = 0
        self._on_refused(target, seg, now)

    def active(self, addr: int, port: int) -> bool:
        """Is the target in flight (state held, final record not yet emitted)?"""
        return (addr << 16 | port) in self._targets

    def drain(self, now: float) -> None:
        """No new connection from now on: each target ends when its open connections do, so
        all are over within one connection's lifetime (a scan's first Ctrl-C)."""
        self._draining = True
        for target in list(self._targets.values()):
            if self._targets.get(target.key) is target:
                self._start_handshakes(target, now)

    def interrupt(self, now: float) -> None:
        """Every target ends now, with the record it has (its best so far, or its first open
        connection's reference packet) and the outcome `interrupted` (a second Ctrl-C)."""
        self._draining = True
        for target in list(self._targets.values()):
            self._end_now(target, now, outcome=Outcome.INTERRUPTED)

    def backlog_seconds(self) -> float:
        """How long the connections queued at their addresses take to start at the host
        rate, for the longest queue (an ETA's part the sending does not show)."""
        return self._hosts.backlog_seconds(
            lambda target: len(self._handshakes) - target.next_hs)

    def add_target(self, addr: int, port: int, now: float) -> None:
        """A target to SYN ourselves (-sendSYNs): handshake 0 starts with our SYN."""
        key = addr << 16 | port
        if key not in self._targets:
            self._start_handshakes(self._new_target(key, now), now)

    def receive(self, seg, now: float) -> None:
        """A segment from a target to us; anything that is not for a live connection is
        ignored."""
        if seg.version != self.version:
            return
        target = self._targets.get(seg.saddr << 16 | seg.sport)
        conn = target.conn_on(seg.dport) if target is not None else None
        if conn is None:
            self._firewall.receive(seg, now)
            return
        event = accept(conn, seg)
        if event is None:
            return
        if seg.flags & ACK and not seg.flags & SYN and event != REFUSED:
            target.acked = True     # LZR's ACKed; a RST refusing our SYN acknowledges nothing
        if (event == SYNACK or event == PURE_ACK) and self._firewall.ends(target, conn.hs):
            self._on_acking_firewall(conn, seg, now)
        else:
            self._handlers[conn.state][event](conn, seg, now)

    def advance(self, now: float) -> None:      # fire every timer due at `now`, earliest first
        self._timers.fire_due(now)

    def next_deadline(self) -> float | None:
        return self._timers.next_deadline()

    def take_sends(self) -> list[Send]:
        sends, self._sends[:] = self._sends[:], []   # shared with the firewall probes: keep it
        return sends

    def take_records(self) -> list[Record]:
        records, self._records = self._records, []
        return records

    def owns(self, daddr: int, dport: int, sport: int) -> bool:
        """Is (target address, target port, our local port) a live connection of ours?"""
        target = self._targets.get(daddr << 16 | dport)
        return (target is not None and target.conn_on(sport) is not None
                or self._firewall.owns(daddr, dport, sport))

    # ---- transitions (transitions.py says which runs when) ----------------------------

    def _on_synack(self, conn, seg, now: float) -> None:
        if seg.window == 0:
            # A zero window never takes a probe (§2.3); unlike LZR the target ends here
            # instead of its earlier SYN timing out into more records (§7.3-8).
            record = self.recorder.of_segment(conn, seg, now, Outcome.ZERO_WINDOW, acked=False)
            self._close_conn(conn)
            self._finish(conn.target, record, now)
            return
        opened = not conn.target.marks & ANSWERED
        self._send_first_probe(conn, seg.seq, seg.ack, seg.window, seg.ttl, seg.flags, now)
        if opened:
            self._start_handshakes(conn.target, now)    # the rest of the first round

    def _on_refused(self, conn, seg, now: float) -> None:
        # The port is closed: say so now rather than after the SYN's timeouts (§7.3-9).
        record = self.recorder.of_segment(conn, seg, now, Outcome.CLOSED, acked=False)
        conn.target.stopped = not self.cfg.force_all
        self._end_conn(conn, record, now)

    def _on_data(self, conn, seg, now: float) -> None:
        target = conn.target
        target.marks |= ANSWERED    # (data may come with the SYN-ACK)
        found = labels(seg.payload, self.cfg.compat)
        sure = found if self.cfg.compat else sure_labels(found, self._handshakes[conn.hs])
        label = label_of(sure or found, self.cfg.priority)
        outcome = Outcome.UNKNOWN_DATA if label == UNKNOWN else Outcome.IDENTIFIED
        record = self.recorder.of_segment(conn, seg, now, outcome, expected="data", label=label)
        self._send_rst(conn, seg.ack)
        if self.cfg.force_all:
            self._records.append(record)
            self._end_conn(conn, record, now)
        elif self.cfg.compat or sure:
            self._close_conn(conn)
            self._finish(target, record, now)
        else:
            self._end_conn(conn, record, now)   # unknown, or only provisionally named

    def _on_close(self, conn, seg, now: float) -> None:
        if seg.flags & ACK or not seg.flags & RST:
            self._send_rst(conn, seg.ack)       # no RST in reply to a bare RST (§2.10)
        outcome = Outcome.RST if seg.flags & RST else Outcome.FIN
        self._end_conn(conn, self.recorder.of_segment(conn, seg, now, outcome), now)

    def _on_probe_acked(self, conn, seg, now: float) -> None:
        if conn.state in (PROBE_ACKED, LINGERING):
            return      # a duplicate ACK: it must not keep the connection alive
        if conn.sent == 0 and not self._handshakes[conn.hs].server_first:
            return      # -pushDataOnly: an ACK before our probe went out acknowledges nothing
        # The target has our probe; wait -t for its answer, with a fresh retry count (§2.5).
        conn.state = PROBE_ACKED
        conn.seq, conn.ack, conn.window, conn.ttl, conn.flags = (
            seg.seq, seg.ack, SIXTEEN_BITS[seg.window], seg.ttl, seg.flags)
        self._timing.answer(conn, now, self._handshakes[conn.hs].server_first).arm(conn, now)
        conn.sent = 0
        conn.counter = 0

    def _conn_timer(self, waited: float):
        """The handler of a connection timer queue whose timers run `waited` seconds."""
        def fire(conn, now: float) -> None:
            if self._firewall.stops(conn.target):
                self._end_now(conn.target, now, firewall=True)
            else:
                self._handlers[conn.state][TIMER](conn, now, waited)
        return fire

    def _on_syn_timer(self, conn, now: float, waited: float) -> None:
        if conn.counter < self.cfg.retries:
            conn.counter += 1
            self._sends.append(send.syn(conn))
            self._timer.arm(conn, now)
            return
        # No SYN-ACK: the port stopped answering; LZR ends the target here (§2.8).
        record = self.recorder.of_reference(conn, now, sent_at=conn.deadline - waited)
        conn.target.stopped = not self.cfg.force_all
        self._end_conn(conn, record, now)

    def _on_probe_timer(self, conn, now: float, waited: float) -> None:
        acked = conn.state in (PROBE_ACKED, LINGERING)
        if conn.counter < (self.cfg.acked_retries if acked else self.cfg.retries):
            conn.counter += 1
            self._retransmit_probe(conn)
            self._timer.arm(conn, now)
            return
        rest = self._timing.lingering(conn, waited) if conn.state == PROBE_ACKED else None
        if rest is not None:
            # Its slot goes to the next handshake; the probe keeps waiting for its answer.
            self._release_host_slot(conn)
            conn.state = LINGERING
            rest.arm(conn, now)
            self._start_handshakes(conn.target, now)
            return
        record = self.recorder.of_reference(conn, now, sent_at=conn.deadline - waited)
        self._send_rst(conn, conn.ack)
        target = conn.target
        if self._timing.gives_up(target, self._handshakes[conn.hs].server_first, acked):
            # It takes probes and never speaks: start nothing more, end the other
            # client-first connections; a banner has its server-first windows to come in.
            target.stopped = True
            for other in target.live_conns():
                if other is not conn and not self._handshakes[other.hs].server_first:
                    if other.state != SYN_SENT:
                        self._send_rst(other, other.ack)
                    self._close_conn(other)
        self._end_conn(conn, record, now)

    def _on_acking_firewall(self, conn, seg, now: float) -> None:
        record = self.recorder.of_segment(conn, seg, now, Outcome.ACKING_FIREWALL)
        self._send_rst(conn, seg.ack)
        self._close_conn(conn)
        self._finish(conn.target, record, now)

    def _on_verdict(self, target: InFlight, firewall: bool, now: float) -> None:
        """The verdict on the address of `target`, which waited for it."""
        if firewall:
            self._end_now(target, now, firewall=True)
        else:
            self._start_handshakes(target, now)

    def _end_now(self, target: InFlight, now: float, firewall: bool = False,
                 outcome: Outcome | None = None) -> None:
        """End the target at once (--target-timeout, an ACKing firewall's, an interrupt) with
        its data, else its first live connection's reference, else its last attempt."""
        conns = target.live_conns()
        if conns and (target.fallback is None or not target.fallback.data):
            record = (self.recorder.of_firewall(conns[0], now) if firewall else
                      self.recorder.of_reference(conns[0], now, sent_at=now))
        else:
            record = fallback(target, now, self._firewall.flagged(target))
        self._finish(target, record if outcome is None else replace(record, outcome=outcome), now)
