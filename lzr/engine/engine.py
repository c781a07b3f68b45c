"""LZR's per-target state machine (docs/lzr-reference.md §2), with no I/O at all.

Inputs are events: a target ZMap (or the runtime's stateless SYN) already has a SYN-ACK for
(`add_synack`), a RST refusing such a SYN (`add_refused`), a target to SYN (`add_target`), a
TCP segment from a target (`receive`) and the time (`advance`); a stateless SYN that nothing
answered only needs its record (`add_unanswered`). Outputs are collected until taken:
segments to send (`take_sends`), final records (`take_records`), and when to call `advance`
next (`next_deadline`). The clock is whatever the caller says.

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

transitions.py holds the state machine as a table: for each state, the handler each event
runs. The side concerns have their own modules: the per-host cap and rate (hosts.py), the
ACKing-firewall probes (firewall.py), records (records.py), and which labels are sure
(lzr.fingerprint.sure_labels).

When a connection ends without naming the service, the target starts its next handshake on
a fresh local port, or, when there is none left and no other connection is live, writes its
final record (§2.10). With `compat` a target runs one handshake at a time and its first data
ends it; otherwise up to `parallel` run at once, data that names nothing for sure lets the
others go on, and a target's extra connections (beyond its first) are capped per address.
"""
from __future__ import annotations

import random
from dataclasses import replace
from typing import TYPE_CHECKING

from lzr import handshakes
from lzr.engine.firewall import AddressVerdicts, TargetProbes
from lzr.engine.hosts import HostLimits
from lzr.engine.ports import LocalPorts
from lzr.engine.records import SYN_WINDOW, Recorder, fallback, keep_if_better
from lzr.engine.send import Send
from lzr.engine.state import Conn, InFlight
from lzr.engine.timers import BudgetQueue, TimerQueue
from lzr.engine.transitions import (
    IDLE, MOD32, PROBE_ACKED, PROBE_SENT, PURE_ACK, REFUSED, SYN_SENT, SYNACK, TIMER,
    TRANSITIONS, accept,
)
from lzr.fingerprint import label_of, labels, sure_labels
from lzr.output.record import Outcome, Record
from lzr.wire.segment import ACK, PSH, RST, SYN

if TYPE_CHECKING:
    from lzr.config import EngineConfig

def answer_waits(cfg: EngineConfig) -> tuple[float, ...]:
    """The waits for an ACKed probe's answer shorter than -t: from the floor, doubling."""
    waits, wait = [], cfg.answer_floor
    while cfg.answer_rtts and 0 < wait < cfg.timeout:
        waits.append(wait)
        wait *= 2
    return tuple(waits)

# Ports and windows are 16-bit; taking them from one shared table instead of keeping the int
# objects that came with each input saves two objects per target in flight.
SIXTEEN_BITS = tuple(range(1 << 16))


class Engine:
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
        self._recorder = Recorder(version, scanner_addr, cfg.handshakes)
        self._hosts = HostLimits(cfg.per_host_limit, cfg.host_rate, self._wants_queued_conn,
                                 self._open_queued_conn)
        probes = (cfg.haf, cfg.haf_needed, cfg.haf_timeout, self._ports, self._rng,
                  self._targets, self._sends)
        self._firewall = TargetProbes(*probes) if cfg.compat else AddressVerdicts(
            *probes, parallel=cfg.parallel, on_verdict=self._on_verdict)
        self._first_probe_timer = TimerQueue(cfg.retransmit_after)
        self._timer = TimerQueue(cfg.timeout)
        # Waits for the answer to an ACKed probe shorter than -t, from the host's round trip.
        self._answer_timers = tuple(TimerQueue(wait) for wait in answer_waits(cfg))
        self._budget = BudgetQueue(cfg.target_timeout) if cfg.target_timeout else None
        conn_timers = (self._first_probe_timer, self._timer) + self._answer_timers
        # Earliest first on a tie: a connection's, a host's, a probe's, a target's budget.
        self._timers = tuple((queue, self._conn_timer(queue.delay)) for queue in conn_timers) + (
            (self._hosts.timer, self._hosts.on_timer),
            (self._firewall.timer, self._firewall.on_timer),
        ) + (((self._budget, self._on_budget_spent),) if self._budget is not None else ())
        self._handlers = {state: {event: getattr(self, "_on_" + name)
                                  for event, name in events.items()}
                          for state, events in TRANSITIONS.items()}
        self._draining = False

    # ---- public interface -------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._targets)

    def add_synack(self, saddr: int, sport: int, dport: int, seq: int, ack: int, window: int,
                   ttl: int, now: float) -> None:
        """A target ZMap already has a SYN-ACK for; its handshake 0 starts on ZMap's port."""
        key = saddr << 16 | sport
        if key in self._targets:
            return
        if window == 0:
            # Nothing can be sent to a zero window: record the SYN-ACK as it is (§2.3).
            self._records.append(self._recorder.of_zero_window(saddr, sport, dport, seq=seq,
                                                               ack=ack, ttl=ttl))
            return
        target = self._new_target(key, now)
        target.next_hs = 1
        target.lport = SIXTEEN_BITS[dport]
        target.hs = 0
        self._send_first_probe(target, seq, ack, window, ttl, SYN | ACK, now)
        self._start_handshakes(target, now)

    def add_refused(self, seg, now: float) -> None:
        """A RST that refused a SYN sent without engine state (the runtime's stateless SYNs,
        validated on arrival): the target's handshake 0 ends as a closed port (§2.8)."""
        key = seg.saddr << 16 | seg.sport
        if key in self._targets:
            self.receive(seg, now)
            return
        target = self._new_target(key, now)
        target.next_hs = 1
        target.lport = SIXTEEN_BITS[seg.dport]
        target.hs = 0
        target.state = SYN_SENT
        target.seq, target.ack, target.window, target.ttl, target.flags = (
            (seg.ack - 1) & MOD32, 0, SYN_WINDOW, 0, SYN)
        target.counter = target.sent = 0
        self._on_refused(target, seg, now)

    def add_unanswered(self, addr: int, port: int, lport: int, isn: int, retransmissions: int,
                       last_sent: float, first_sent: float, now: float,
                       interrupted: bool = False) -> None:
        """A target whose SYNs, sent without engine state, got no answer: its final record is
        the one a SYN that timed out gives (expectedRToLZR "sa", §2.8); `interrupted`: the
        scan ended before its time was up."""
        record = self._recorder.of_unanswered(
            addr, port, lport, isn=isn, retransmissions=retransmissions, sent_at=last_sent,
            started=first_sent if self.cfg.extended else None, now=now)
        self._records.append(replace(record, outcome=Outcome.INTERRUPTED) if interrupted
                             else record)

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
            conns = target.live_conns()
            if conns and (target.fallback is None or not target.fallback.data):
                record = self._recorder.of_reference(conns[0], now, sent_at=now)
            else:
                record = fallback(target, now, self._firewall.flagged(target))
            self._finish(target, replace(record, outcome=Outcome.INTERRUPTED), now)

    def backlog_seconds(self) -> float:
        """How long the connections queued at their addresses will take to start at the host
        rate, for the longest queue (an ETA's part the sending does not show)."""
        return self._hosts.backlog_seconds(
            lambda target: len(self._handshakes) - target.next_hs)

    def active(self, addr: int, port: int) -> bool:
        """Is the target in flight (state held, final record not yet emitted)?"""
        return (addr << 16 | port) in self._targets

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

    def advance(self, now: float) -> None:
        """Fire every timer due at `now`, earliest first."""
        while True:
            fire, queue, due = None, None, now
            for candidate, handler in self._timers:
                head = candidate.head()
                if head is not None and (head < due or queue is None and head == due):
                    fire, queue, due = handler, candidate, head
            if queue is None:
                return
            item = queue.pop()
            if item is not None:
                fire(item, now)

    def next_deadline(self) -> float | None:
        heads = [d for d in (queue.head() for queue, _ in self._timers) if d is not None]
        return min(heads) if heads else None

    def take_sends(self) -> list[Send]:
        sends = self._sends[:]
        self._sends.clear()     # the list is shared with the firewall probes: keep it
        return sends

    def take_records(self) -> list[Record]:
        records, self._records = self._records, []
        return records

    def owns(self, daddr: int, dport: int, sport: int) -> bool:
        """Is (target address, target port, our local port) a live connection of ours?"""
        target = self._targets.get(daddr << 16 | dport)
        if target is not None and target.conn_on(sport) is not None:
            return True
        return self._firewall.owns(daddr, dport, sport)

    # ---- transitions (transitions.py says which runs when) ----------------------------

    def _on_synack(self, conn, seg, now: float) -> None:
        if seg.window == 0:
            # A zero window never takes a probe (§2.3); unlike LZR the target ends here
            # instead of its earlier SYN timing out into more records (§7.3-8).
            record = self._recorder.of_segment(conn, seg, now, Outcome.ZERO_WINDOW, acked=False)
            self._close_conn(conn)
            self._finish(conn.target, record, now)
            return
        self._send_first_probe(conn, seg.seq, seg.ack, seg.window, seg.ttl, seg.flags, now)

    def _on_refused(self, conn, seg, now: float) -> None:
        # The port is closed: say so now rather than after the SYN's timeouts (§7.3-9).
        record = self._recorder.of_segment(conn, seg, now, Outcome.CLOSED, acked=False)
        conn.target.stopped = not self.cfg.force_all
        self._end_conn(conn, record, now)

    def _on_data(self, conn, seg, now: float) -> None:
        target = conn.target
        found = labels(seg.payload)
        sure = found if self.cfg.compat else sure_labels(found, self._handshakes[conn.hs])
        record = self._recorder.of_data(conn, seg, now,
                                        label=label_of(sure or found, self.cfg.priority))
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
        self._end_conn(conn, self._recorder.of_segment(conn, seg, now, outcome), now)

    def _on_probe_acked(self, conn, seg, now: float) -> None:
        if conn.state == PROBE_ACKED:
            return      # a duplicate ACK: it must not keep the connection alive
        if conn.sent == 0 and not self._handshakes[conn.hs].server_first:
            return      # -pushDataOnly: an ACK before our probe went out acknowledges nothing
        # The target has our probe; wait -t for its answer, with a fresh retry count (§2.5).
        conn.state = PROBE_ACKED
        conn.seq, conn.ack, conn.window, conn.ttl, conn.flags = (
            seg.seq, seg.ack, SIXTEEN_BITS[seg.window], seg.ttl, seg.flags)
        sent_at = conn.deadline - self._first_probe_timer.delay
        conn.sent = 0
        conn.counter = 0
        self._answer_timer(conn, now - sent_at).arm(conn, now)

    def _answer_timer(self, conn, rtt: float) -> TimerQueue:
        """How long to wait for the answer to the probe the target just ACKed: -t in the
        first round (slow HTTP pages, TLS handshakes), then a few round trips: a server
        answers a probe it understands at once (docs/identification.md, "Silent ports").
        An ACK of a retransmission says nothing of the round trip."""
        if conn.counter == 0 and conn.hs >= self.cfg.parallel and (
                not self._handshakes[conn.hs].server_first):
            for queue in self._answer_timers:
                if queue.delay >= self.cfg.answer_rtts * rtt:
                    return queue
        return self._timer

    def _conn_timer(self, waited: float):
        """The handler of a connection timer queue whose timers run `waited` seconds."""
        def fire(conn, now: float) -> None:
            if self._firewall.stops(conn.target):
                self._end_as_firewall(conn.target, now)
            else:
                self._handlers[conn.state][TIMER](conn, now, waited)
        return fire

    def _on_budget_spent(self, target: InFlight, now: float) -> None:
        """--target-timeout: the target ends now with what it has."""
        conns = target.live_conns()
        if conns and (target.fallback is None or not target.fallback.data):
            target.fallback = self._recorder.of_reference(conns[0], now, sent_at=now)
        self._finish(target, None, now)

    def _on_syn_timer(self, conn, now: float, waited: float) -> None:
        if conn.counter < self.cfg.retries:
            conn.counter += 1
            self._send_syn(conn)
            self._timer.arm(conn, now)
            return
        # No SYN-ACK: the port stopped answering; LZR ends the target here (§2.8).
        record = self._recorder.of_reference(conn, now, sent_at=conn.deadline - waited)
        conn.target.stopped = not self.cfg.force_all
        self._end_conn(conn, record, now)

    def _on_probe_timer(self, conn, now: float, waited: float) -> None:
        acked = conn.state == PROBE_ACKED
        if conn.counter < (self.cfg.acked_retries if acked else self.cfg.retries):
            conn.counter += 1
            self._retransmit_probe(conn)
            self._timer.arm(conn, now)
            return
        record = self._recorder.of_reference(conn, now, sent_at=conn.deadline - waited)
        self._send_rst(conn, conn.ack)
        target = conn.target
        if self._handshakes[conn.hs].server_first:
            target.banner_waited = True
        elif acked:
            target.silent += 1
            # It takes probes and never speaks: start nothing more. A banner still has the
            # server-first handshake's window (open, or over) to come in.
            if self.cfg.silent_probes and target.silent >= self.cfg.silent_probes and (
                    target.banner_asked):
                self._stop_asking(target, conn)
        self._end_conn(conn, record, now)

    def _stop_asking(self, target: InFlight, ending) -> None:
        """The target takes probes and never speaks: start nothing more, and end its other
        client-first connections; a banner still has the server-first handshakes' windows
        (open, or over) to come in."""
        target.stopped = True
        for conn in target.live_conns():
            if conn is not ending and not self._handshakes[conn.hs].server_first:
                if conn.state != SYN_SENT:
                    self._send_rst(conn, conn.ack)
                self._close_conn(conn)

    def _on_acking_firewall(self, conn, seg, now: float) -> None:
        record = replace(self._recorder.of_segment(conn, seg, now, Outcome.ACKING_FIREWALL),
                         acking_firewall=True)
        self._send_rst(conn, seg.ack)
        self._close_conn(conn)
        self._finish(conn.target, record, now)

    def _on_verdict(self, target: InFlight, firewall: bool, now: float) -> None:
        """The verdict on the address of `target`, which waited for it."""
        if firewall:
            self._end_as_firewall(target, now)
        else:
            self._start_handshakes(target, now)

    def _end_as_firewall(self, target: InFlight, now: float) -> None:
        """End a target of an ACKing firewall at once, with its first live connection's
        reference packet, or the record it would end with anyway."""
        conns = target.live_conns()
        if not conns or target.fallback is not None and target.fallback.data:
            self._finish(target, None, now)     # its data, or its last attempt, flagged
        else:
            self._finish(target, self._recorder.of_firewall(conns[0], now), now)

    # ---- connections and targets ------------------------------------------------------

    def _new_target(self, key: int, now: float) -> InFlight:
        target = self._targets[key] = InFlight(key, now if self.cfg.extended else None)
        if self._budget is not None:
            self._budget.arm(target, now)
        return target

    def _start_handshakes(self, target: InFlight, now: float) -> None:
        """Start handshakes while the target has some left and room to run them."""
        while self._wants_conn(target):
            if target.next_hs:
                if self._firewall.stops(target):
                    self._end_as_firewall(target, now)
                    return
                if self._firewall.holds(target):
                    break
                if not self._hosts.has_room(target.addr, now):
                    self._hosts.queue(target, now)
                    break
            self._open_conn(target, now)
        left_to_try = (target.next_hs < len(self._handshakes) and not target.stopped
                       and not self._draining)
        if not left_to_try and not target.has_live_conns():
            self._finish(target, None, now)

    def _wants_conn(self, target: InFlight) -> bool:
        if target.banner_waited and self.cfg.skip_banner_waits:
            # A banner window passed in silence: the same empty probe again gets nothing.
            while target.next_hs < len(self._handshakes) and (
                    self._handshakes[target.next_hs].server_first):
                target.next_hs += 1
        return (target.next_hs < len(self._handshakes) and not target.stopped
                and not self._draining and len(target.live_conns()) < self.cfg.parallel)

    def _wants_queued_conn(self, target: InFlight) -> bool:
        """Does a target queued at its address (hosts.py) still want a connection?"""
        return self._targets.get(target.key) is target and self._wants_conn(target)

    def _open_queued_conn(self, target: InFlight, now: float) -> bool:
        """A slot at its address for a queued target: open its next connection, unless the
        address's ACKing-firewall verdict says otherwise. Did it open one?"""
        if self._firewall.stops(target):
            self._end_as_firewall(target, now)
            return False
        if self._firewall.holds(target):
            return False
        self._open_conn(target, now)
        return True

    def _open_conn(self, target: InFlight, now: float) -> None:
        """Send the SYN of the target's next handshake from a fresh local port."""
        lport = self._fresh_port(target)
        if target.state == IDLE:
            conn = target
        else:
            conn = Conn(target)
            if target.more is None:
                target.more = []
            target.more.append(conn)
        conn.lport = lport
        conn.hs = target.next_hs
        target.next_hs += 1
        conn.seq = self._rng.getrandbits(32)
        conn.ack, conn.window, conn.ttl, conn.flags = 0, SYN_WINDOW, 0, SYN
        conn.counter = conn.sent = 0
        conn.state = SYN_SENT
        if conn.hs and self._hosts.cap is not None:
            self._hosts.started(target.addr, now)
        self._send_syn(conn)
        self._timer.arm(conn, now)
        if conn.hs == 1 and self._firewall.probes:
            self._firewall.extra_connection(target, now)

    def _end_conn(self, conn, record: Record, now: float) -> None:
        """The connection is over without naming the service: keep its record in case
        nothing does, and go on with the target's other handshakes."""
        target = conn.target
        keep_if_better(target, record)
        self._close_conn(conn)
        self._start_handshakes(target, now)
        self._hosts.wake(target.addr, now)

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
        self._hosts.wake(target.addr, now)

    def _close_conn(self, conn) -> None:
        conn.deadline = None
        conn.state = IDLE
        target = conn.target
        if conn is not target:
            target.more.remove(conn)
            if not target.more:
                target.more = None
        if conn.hs and self._hosts.cap is not None:
            self._hosts.ended(target.addr)

    def _fresh_port(self, target: InFlight) -> int:
        while True:
            port = self._ports.take()
            if target.conn_on(port) is None:
                return port

    # ---- segments we send (§2.6) ------------------------------------------------------

    def _send_syn(self, conn) -> None:
        key = conn.target.key
        self._sends.append(Send(key >> 16, conn.lport, key & 0xFFFF, conn.seq, 0, SYN,
                                SYN_WINDOW, b""))

    def _send_first_probe(self, conn, seq: int, ack: int, window: int, ttl: int, flags: int,
                          now: float) -> None:
        """Complete the handshake with an ACK carrying the probe; PSH only on retransmissions
        (§2.3). The SYN-ACK becomes the connection's reference packet."""
        conn.state = PROBE_SENT
        if self._handshakes[conn.hs].server_first:
            conn.target.banner_asked = True     # its window for a banner opens now
        conn.seq, conn.ack, conn.ttl, conn.flags = seq, ack, ttl, flags
        conn.window = SIXTEEN_BITS[window]
        conn.counter = 0
        payload = b"" if self.cfg.push_data_only else self._probe(conn)
        conn.sent = len(payload)
        key = conn.target.key
        self._sends.append(Send(key >> 16, conn.lport, key & 0xFFFF, ack, (seq + 1) & MOD32,
                                ACK, window, payload))
        self._first_probe_timer.arm(conn, now)

    def _retransmit_probe(self, conn) -> None:
        payload = self._probe(conn)
        if conn.state == PROBE_SENT:
            seq, ack = conn.ack, (conn.seq + 1) & MOD32
            conn.sent = len(payload)
        else:
            # The target has ACKed the probe: send it again where it was, a true duplicate.
            # LZR sends it after itself as new data and acks one byte too far (§7.3-7).
            seq, ack = (conn.ack - len(payload)) & MOD32, conn.seq
        key = conn.target.key
        self._sends.append(Send(key >> 16, conn.lport, key & 0xFFFF, seq, ack, PSH | ACK,
                                conn.window, payload))

    def _send_rst(self, conn, seq: int) -> None:
        key = conn.target.key
        self._sends.append(Send(key >> 16, conn.lport, key & 0xFFFF, seq, 0, RST, 0, b""))

    def _probe(self, conn) -> bytes:
        return self._handshakes[conn.hs].probe(self._recorder.text(conn.target.addr), self._rng)
