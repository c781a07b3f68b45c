"""LZR's per-target state machine (reference lzr-behaviour.md §2), with no I/O at all.

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

A connection is in one state (state.py) and each event moves it by one named handler:

    state        event                 handler                 next state
    SYN_SENT     SYN-ACK               _on_synack              PROBE_SENT (zero window: target ends)
    SYN_SENT     SYN-ACK with data     _on_data                as data below
    SYN_SENT     RST acking our SYN    _on_refused             connection ends
    SYN_SENT     timer                 _on_syn_timer           SYN_SENT (resend) / ends
    PROBE_SENT   data                  _on_data                connection or target ends
    PROBE_SENT   RST or FIN            _on_close               connection ends
    PROBE_SENT   pure ACK of the probe _on_probe_acked         PROBE_ACKED
    PROBE_SENT   timer                 _on_probe_timer         PROBE_SENT (resend) / ends
    PROBE_ACKED  data                  _on_data                connection or target ends
    PROBE_ACKED  RST or FIN            _on_close               connection ends
    PROBE_ACKED  duplicate ACK         _on_probe_acked         PROBE_ACKED (nothing changes)
    PROBE_ACKED  timer                 _on_probe_timer         PROBE_ACKED (resend) / ends
    any          SYN-ACK or pure ACK   _on_acking_firewall     target ends
                 once the verdict is in (§2.13)
    HAF_PROBE    SYN-ACK               _receive_for_probe      (gone; the target is credited)
    HAF_PROBE    timer                 advance                 (gone)
    HOST         timer                 _on_host_timer          (its queue takes its tokens)

Anything else (no flags, a repeated SYN-ACK, numbers that do not fit) is ignored.

When a connection ends without naming the service, the target starts its next handshake on
a fresh local port, or, when there is none left and no other connection is live, writes its
final record (§2.10). With `compat` a target runs one handshake at a time and its first data
ends it; otherwise up to `parallel` run at once, data that names nothing for sure
(`_credible`) lets the others go on, and a target's extra connections (beyond its first)
are capped per address in number and rate (`per_host_limit`, `host_rate`).
"""
import functools
import random
from collections import deque
from dataclasses import replace
from socket import inet_ntoa

from lzr import handshakes
from lzr.engine.config import EngineConfig, Send
from lzr.engine.ports import LocalPorts
from lzr.engine.state import (
    EXPECTED, HAF_PROBE, HOST, IDLE, PROBE_ACKED, PROBE_SENT, SYN_SENT, Conn, HafProbe, Host,
    Target,
)
from lzr.engine.timers import TimerQueue
from lzr.fingerprint import UNKNOWN, label_of, labels
from lzr.output.record import Record
from lzr.wire.addr import exploded_ipv6
from lzr.wire.segment import ACK, FIN, PSH, RST, SYN

MOD32 = 0xFFFFFFFF
SYN_WINDOW = 65535                  # the window of every SYN we send (§2.2)
HAF_PORTS = range(32768, 61000)     # where ACKing-firewall probes go (§2.13)

# Ports and windows are 16-bit; taking them from one shared table instead of keeping the int
# objects that came with each input saves two objects per target in flight.
SIXTEEN_BITS = tuple(range(1 << 16))

# What an accepted segment is (§2.5, in that order of precedence).
DATA, CLOSE, SYNACK, REFUSED, PURE_ACK = range(5)


@functools.cache
def _own_labels(name: str) -> frozenset[str] | None:
    """The labels of the rules whose probe handshake `name` sends: its own and those of
    handshakes sending the same bytes (tls and kubernetes; newlines and bgp). None for a
    server-first handshake: we sent nothing, so no rule is more its own than another.

    The tls rule's other label, `ssl` (an SSL 3.0 record header), is not among them: it is
    what binary protocols' replies to a ClientHello look like (EtherNet/IP echoes its first
    bytes), while SSL 3.0-only servers are rare."""
    sent = handshakes.get(name)
    if sent.server_first:
        return None
    probe = sent.probe("192.0.2.1")
    return frozenset(hs.name for hs in handshakes.REGISTRY.values()
                     if hs.probe is sent.probe or hs.probe("192.0.2.1") == probe)


def _fallback_rank(record: Record | None) -> int:
    """What a target that nothing names for sure ends with: the first provisionally named
    data (rank 2), else the first data (1), else the latest attempt (0)."""
    if record is None:
        return -1
    if not record.data:
        return 0
    return 1 if record.fingerprint == UNKNOWN else 2


class Engine:
    def __init__(self, cfg: EngineConfig, version: int, scanner_addr: int, local_ports: range,
                 seed: int = 0) -> None:
        self.cfg = cfg
        self.version = version
        self.scanner_addr = scanner_addr
        self._rng = random.Random(seed)
        self._handshakes = tuple(handshakes.get(name) for name in cfg.handshakes)
        self._priority = cfg.priority or cfg.handshakes
        self._own_labels = tuple(_own_labels(hs.name) for hs in self._handshakes)
        self._parallel = 1 if cfg.compat else cfg.parallel
        self._host_limit = None if cfg.compat else (cfg.per_host_limit or cfg.parallel)
        # The host rate is a token bucket of `_host_limit` starts kept as the earliest time
        # of the next start (GCRA): one start per `spacing`, bursts of `_host_limit`.
        host_rate = 0 if cfg.compat else cfg.host_rate
        self._start_spacing = 1 / host_rate if host_rate else 0.0
        self._burst_span = (self._host_limit - 1) * self._start_spacing if host_rate else 0.0
        self._haf = 0 if cfg.force_all else cfg.haf            # §2.11 turns HAF off
        # LZR labels a firewall when more than int(F*N) probes answered, which F = 1.0 made
        # impossible (§7.3-4); capped at N, 1.0 now means "every probe answered".
        self._haf_needed = min(int(cfg.haf_threshold * self._haf) + 1, self._haf)
        if len(local_ports) <= self._parallel + self._haf:
            raise ValueError("the local port range is too small for parallel + haf")
        self._ports = LocalPorts(local_ports, self._rng)
        self._first_probe_timer = TimerQueue(cfg.retransmit_after)
        self._timer = TimerQueue(cfg.timeout)
        # Wakes an address whose next start the host rate holds back; one start's spacing
        # from the moment it was held back is never too early (see _start_counted).
        self._host_timer = TimerQueue(self._start_spacing or 1.0)
        self._timer_queues = (self._first_probe_timer, self._timer) + (
            (self._host_timer,) if host_rate else ())
        self._targets: dict[int, Target] = {}
        self._probes: dict[int, HafProbe] = {}
        self._hosts: dict[int, Host] = {}
        self._haf_answers: dict[int, int] = {}      # target key -> probes that got a SYN-ACK
        self._sends: list[Send] = []
        self._records: list[Record] = []
        self._scanner_text = self._text(scanner_addr)

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
            # Nothing can be sent to a zero window: record the SYN-ACK as it is (§2.3). ZMap
            # gave no time, so the record carries Go's zero time as LZR's does.
            self._records.append(self._record(
                key, dport, 0, seq, ack, 0, ttl, SYN | ACK, 0, "", b"", UNKNOWN, False, None, 0,
                None, now))
            return
        target = Target(key, now if self.cfg.extended else None)
        self._targets[key] = target
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
        target = Target(key, now if self.cfg.extended else None)
        self._targets[key] = target
        target.next_hs = 1
        target.lport = SIXTEEN_BITS[seg.dport]
        target.hs = 0
        target.state = SYN_SENT
        target.seq, target.ack, target.window, target.ttl, target.flags = (
            (seg.ack - 1) & MOD32, 0, SYN_WINDOW, 0, SYN)
        target.counter = target.sent = 0
        self._on_refused(target, seg, now)

    def add_unanswered(self, addr: int, port: int, lport: int, isn: int, retransmissions: int,
                       last_sent: float, first_sent: float, now: float) -> None:
        """A target whose SYNs, sent without engine state, got no answer: its final record is
        the one a SYN that timed out gives (expectedRToLZR "sa", §2.8)."""
        started = first_sent if self.cfg.extended else None
        self._records.append(self._record(
            addr << 16 | port, lport, 0, isn, 0, SYN_WINDOW, 0, SYN, retransmissions, "sa", b"",
            UNKNOWN, False, round(last_sent * 1e9), 1, started, now))

    def active(self, addr: int, port: int) -> bool:
        """Is the target in flight (state held, final record not yet emitted)?"""
        return (addr << 16 | port) in self._targets

    def add_target(self, addr: int, port: int, now: float) -> None:
        """A target to SYN ourselves (-sendSYNs): handshake 0 starts with our SYN."""
        key = addr << 16 | port
        if key in self._targets:
            return
        target = Target(key, now if self.cfg.extended else None)
        self._targets[key] = target
        self._start_handshakes(target, now)

    def receive(self, seg, now: float) -> None:
        """A segment from a target to us; anything that is not for a live connection is
        ignored."""
        if seg.version != self.version:
            return
        target = self._targets.get(seg.saddr << 16 | seg.sport)
        conn = target.conn_on(seg.dport) if target is not None else None
        if conn is None:
            if self._probes:
                self._receive_for_probe(seg)
            return
        event = self._accept(conn, seg)
        if event is None:
            return
        if seg.flags & ACK and not seg.flags & SYN and event != REFUSED:
            target.acked = True     # LZR's ACKed; a RST refusing our SYN acknowledges nothing
        if event == DATA:
            self._on_data(conn, seg, now)
        elif event == CLOSE:
            self._on_close(conn, seg, now)
        elif event == REFUSED:
            self._on_refused(conn, seg, now)
        elif self._haf_verdict(target, conn):
            self._on_acking_firewall(conn, seg, now)
        elif event == SYNACK:
            self._on_synack(conn, seg, now)
        else:
            self._on_probe_acked(conn, seg, now)

    def advance(self, now: float) -> None:
        """Fire every timer due at `now`, earliest first (on a tie: a first-probe timer, then
        a connection's, then a host's)."""
        while True:
            queue, due = None, now
            for candidate in self._timer_queues:
                head = candidate.head()
                if head is not None and (head < due or queue is None and head == due):
                    queue, due = candidate, head
            if queue is None:
                return
            conn = queue.pop()
            if conn is None:
                continue
            if conn.state == SYN_SENT:
                self._on_syn_timer(conn, queue, now)
            elif conn.state == HAF_PROBE:
                del self._probes[conn.key]
            elif conn.state == HOST:
                self._on_host_timer(conn, now)
            else:
                self._on_probe_timer(conn, queue, now)

    def next_deadline(self) -> float | None:
        heads = [d for d in (queue.head() for queue in self._timer_queues) if d is not None]
        return min(heads) if heads else None

    def take_sends(self) -> list[Send]:
        sends, self._sends = self._sends, []
        return sends

    def take_records(self) -> list[Record]:
        records, self._records = self._records, []
        return records

    def owns(self, daddr: int, dport: int, sport: int) -> bool:
        """Is (target address, target port, our local port) a live connection of ours?"""
        target = self._targets.get(daddr << 16 | dport)
        if target is not None and target.conn_on(sport) is not None:
            return True
        return (daddr << 32 | dport << 16 | sport) in self._probes

    # ---- acceptance (§2.4) ------------------------------------------------------------

    def _accept(self, conn, seg):
        """What the segment is for this connection, or None if it is not accepted."""
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

    # ---- transitions ------------------------------------------------------------------

    def _on_synack(self, conn, seg, now: float) -> None:
        if seg.window == 0:
            # A zero window never takes a probe (§2.3); unlike LZR the target ends here
            # instead of its earlier SYN timing out into more records (§7.3-8).
            record = self._segment_record(conn, seg, "", now, acked=False)
            self._close_conn(conn)
            self._finish(conn.target, record, now)
            return
        self._send_first_probe(conn, seg.seq, seg.ack, seg.window, seg.ttl, seg.flags, now)

    def _on_refused(self, conn, seg, now: float) -> None:
        # The port is closed: say so now rather than after the SYN's timeouts (§7.3-9).
        record = self._segment_record(conn, seg, "", now, acked=False)
        conn.target.stopped = not self.cfg.force_all
        self._end_conn(conn, record, now)

    def _on_data(self, conn, seg, now: float) -> None:
        target = conn.target
        found = labels(seg.payload)
        credible = found if self.cfg.compat else self._credible(conn.hs, found)
        record = self._segment_record(conn, seg, "data", now,
                                      label_of(credible or found, self._priority))
        self._send_rst(conn, seg.ack)
        if self.cfg.force_all:
            self._records.append(record)
            self._end_conn(conn, record, now)
        elif self.cfg.compat or credible:
            self._close_conn(conn)
            self._finish(target, record, now)
        else:
            self._end_conn(conn, record, now)   # unknown, or only provisionally named

    def _credible(self, hs: int, found: list[str]) -> list[str]:
        """The labels of `found` that name the service for sure in a response to handshake
        `hs`: all of them when the response came unprompted (a server-first handshake);
        otherwise all but the generic ones (handshakes.GENERIC_LABELS) that are not the
        probe's own. An empty list leaves the answer provisional and the other handshakes go
        on (Redis's `-ERR` to a GET passes the pop3 rule alone)."""
        own = self._own_labels[hs]
        if own is None:
            return found
        return [label for label in found if label in own or label not in handshakes.GENERIC_LABELS]

    def _on_close(self, conn, seg, now: float) -> None:
        if seg.flags & ACK or not seg.flags & RST:
            self._send_rst(conn, seg.ack)       # no RST in reply to a bare RST (§2.10)
        self._end_conn(conn, self._segment_record(conn, seg, "", now), now)

    def _on_probe_acked(self, conn, seg, now: float) -> None:
        if conn.state == PROBE_ACKED:
            return      # a duplicate ACK: it must not keep the connection alive
        if conn.sent == 0 and not self._handshakes[conn.hs].server_first:
            return      # -pushDataOnly: an ACK before our probe went out acknowledges nothing
        # The target has our probe; wait -t for its answer, with a fresh retry count (§2.5).
        conn.state = PROBE_ACKED
        conn.seq, conn.ack, conn.window, conn.ttl, conn.flags = (
            seg.seq, seg.ack, SIXTEEN_BITS[seg.window], seg.ttl, seg.flags)
        conn.sent = 0
        conn.counter = 0
        self._timer.arm(conn, now)

    def _on_syn_timer(self, conn, queue, now: float) -> None:
        if conn.counter < self.cfg.retries:
            conn.counter += 1
            self._send_syn(conn)
            self._timer.arm(conn, now)
            return
        # No SYN-ACK: the port stopped answering; LZR ends the target here (§2.8).
        record = self._reference_record(conn, conn.deadline - queue.delay, now)
        conn.target.stopped = not self.cfg.force_all
        self._end_conn(conn, record, now)

    def _on_probe_timer(self, conn, queue, now: float) -> None:
        if conn.counter < self.cfg.retries:
            conn.counter += 1
            self._retransmit_probe(conn)
            self._timer.arm(conn, now)
            return
        record = self._reference_record(conn, conn.deadline - queue.delay, now)
        self._send_rst(conn, conn.ack)
        self._end_conn(conn, record, now)

    def _on_host_timer(self, host: Host, now: float) -> None:
        host.deadline = None
        if self._hosts.get(host.addr) is host:
            self._wake_host(host.addr, now)

    def _on_acking_firewall(self, conn, seg, now: float) -> None:
        record = replace(self._segment_record(conn, seg, "", now), acking_firewall=True)
        self._send_rst(conn, seg.ack)
        self._close_conn(conn)
        self._finish(conn.target, record, now)

    # ---- connections and targets ------------------------------------------------------

    def _start_handshakes(self, target: Target, now: float) -> None:
        """Start handshakes while the target has some left and room to run them."""
        while self._wants_conn(target):
            if target.next_hs and not self._host_has_room(target, now):
                self._queue_for_slot(target, now)
                break
            self._open_conn(target, now)
        left_to_try = target.next_hs < len(self._handshakes) and not target.stopped
        if not left_to_try and not target.has_live_conns():
            self._finish(target, None, now)

    def _wants_conn(self, target: Target) -> bool:
        return (target.next_hs < len(self._handshakes) and not target.stopped
                and len(target.live_conns()) < self._parallel)

    def _open_conn(self, target: Target, now: float) -> None:
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
        if conn.hs and self._host_limit is not None:
            self._start_counted(target.key >> 16, now)
        self._send_syn(conn)
        self._timer.arm(conn, now)
        if conn.hs == 1 and self._haf:
            self._send_haf_probes(target, now)

    def _end_conn(self, conn, record: Record, now: float) -> None:
        """The connection is over without naming the service: keep its record in case
        nothing does, and go on with the target's other handshakes."""
        target = conn.target
        rank, kept = _fallback_rank(record), _fallback_rank(target.fallback)
        if rank > kept or rank == kept == 0:
            target.fallback = record
        self._close_conn(conn)
        self._start_handshakes(target, now)
        self._wake_host(target.key >> 16, now)

    def _finish(self, target: Target, record: Record | None, now: float) -> None:
        """The target is done: reset its other open connections, write its final record."""
        for conn in target.live_conns():
            if conn.state != SYN_SENT:
                self._send_rst(conn, conn.ack)
            self._close_conn(conn)
        del self._targets[target.key]
        if self.cfg.force_all and target.fallback is not None and target.fallback.data:
            pass    # its data records are written: no trailing record (§2.11)
        elif record is not None:
            self._records.append(record)
        else:
            # Probe answers that came after the target's last packet still count (§2.13 race).
            final = target.fallback
            flagged = self._haf_flagged(target) and not final.data
            tried, seconds = target.next_hs, self._seconds(target, now)
            # Mostly the record says so already, and `replace` costs more than building one.
            if (final.handshakes_tried, final.identify_seconds, final.acking_firewall) != (
                    tried, seconds, flagged):
                final = replace(final, handshakes_tried=tried, identify_seconds=seconds,
                                acking_firewall=flagged)
            self._records.append(final)
        if self._haf_answers:
            self._haf_answers.pop(target.key, None)
        self._wake_host(target.key >> 16, now)

    def _close_conn(self, conn) -> None:
        conn.deadline = None
        conn.state = IDLE
        target = conn.target
        if conn is not target:
            target.more.remove(conn)
            if not target.more:
                target.more = None
        if self._host_limit is not None and conn.hs:
            self._hosts[target.key >> 16].conns -= 1

    # ---- the per-host cap and rate: a target's extra connections --------------------------
    # A target's first connection is the port scan itself, paced by -rate; the cap and the
    # host rate apply to the connections beyond it (handshake 1 on) that the engine opens.

    def _host(self, addr: int) -> Host:
        host = self._hosts.get(addr)
        if host is None:
            host = self._hosts[addr] = Host(addr)
        return host

    def _start_counted(self, addr: int, now: float) -> None:
        host = self._host(addr)
        host.conns += 1
        if self._start_spacing:
            # A start held back now can go no later than one spacing after the last start:
            # so the host timer (that spacing) never wakes the address too early.
            host.free_at = max(host.free_at, now - self._burst_span) + self._start_spacing

    @staticmethod
    def _rate_holds_back(host: Host, now: float) -> bool:
        # free_at is a sum of spacings: allow for its rounding error (a nanosecond).
        return now < host.free_at - 1e-9

    def _host_has_room(self, target: Target, now: float) -> bool:
        """May the target open an extra connection now? Not while its address is at the cap
        or its rate, nor while other targets queue for the address: they go first."""
        if self._host_limit is None:
            return True
        host = self._hosts.get(target.key >> 16)
        return host is None or (host.conns < self._host_limit and not host.waiters
                                and not self._rate_holds_back(host, now))

    def _queue_for_slot(self, target: Target, now: float) -> None:
        host = self._host(target.key >> 16)
        if not target.waiting:
            target.waiting = True
            if host.waiters is None:
                host.waiters = deque()
            host.waiters.append(target)
        if host.conns < self._host_limit and self._rate_holds_back(host, now):
            self._wake_later(host, now)

    def _wake_host(self, addr: int, now: float) -> None:
        """Hand the address's free slots to the targets queued for it, one connection per
        turn: a target that wants more queues again at the back (round robin)."""
        host = self._hosts.get(addr)
        if host is None:
            return
        waiters = host.waiters
        while waiters and host.conns < self._host_limit:
            target = waiters[0]
            wants = self._targets.get(target.key) is target and self._wants_conn(target)
            if wants and self._rate_holds_back(host, now):
                self._wake_later(host, now)
                break
            waiters.popleft()
            target.waiting = False
            if wants:
                self._open_conn(target, now)
                if self._wants_conn(target):
                    self._queue_for_slot(target, now)
        if not host.conns and not waiters:
            self._forget_host(host, now)

    def _forget_host(self, host: Host, now: float) -> None:
        """Drop an address with nothing in flight once its rate allowance is whole again (a
        fresh one would be the same); till then its timer comes back to it."""
        if not self._rate_holds_back(host, now - self._burst_span):
            del self._hosts[host.addr]
        else:
            self._wake_later(host, now)

    def _wake_later(self, host: Host, now: float) -> None:
        """Come back to the address when its next token is due (one timer at a time)."""
        if host.deadline is None:
            self._host_timer.arm(host, now)

    def _fresh_port(self, target: Target) -> int:
        while True:
            port = self._ports.take()
            if target.conn_on(port) is None:
                return port

    def _haf_flagged(self, target: Target) -> bool:
        """Has the address answered enough random ports to be an ACKing firewall (§2.13)?"""
        return bool(self._haf) and self._haf_answers.get(target.key, 0) >= self._haf_needed

    def _haf_verdict(self, target: Target, conn) -> bool:
        """Does this packet of the target end it as an ACKing firewall (§2.5 step 4)?"""
        if not self._haf_flagged(target):
            return False
        return conn.hs == 1 if self.cfg.compat else conn.hs >= 1

    # ---- ACKing-firewall probes (§2.13) -----------------------------------------------

    def _send_haf_probes(self, target: Target, now: float) -> None:
        addr = target.key >> 16
        for _ in range(self._haf):
            port = self._rng.choice(HAF_PORTS)
            real = self._targets.get(addr << 16 | port)
            while True:
                lport = self._ports.take()
                key = addr << 32 | port << 16 | lport
                if key not in self._probes and (real is None or real.conn_on(lport) is None):
                    break
            probe = HafProbe(target, key, lport, self._rng.getrandbits(32))
            self._probes[key] = probe
            self._sends.append(Send(addr, lport, port, probe.seq, 0, SYN, SYN_WINDOW, b""))
            self._timer.arm(probe, now)

    def _receive_for_probe(self, seg) -> None:
        key = seg.saddr << 32 | seg.sport << 16 | seg.dport
        probe = self._probes.get(key)
        if probe is None or not seg.flags & ACK or seg.ack != (probe.seq + 1) & MOD32:
            return
        del self._probes[key]
        probe.deadline = None
        if seg.flags & SYN and not seg.flags & RST:
            parent = probe.target
            if self._targets.get(parent.key) is parent:
                self._haf_answers[parent.key] = self._haf_answers.get(parent.key, 0) + 1
            self._sends.append(Send(seg.saddr, seg.dport, seg.sport, seg.ack, 0, RST, 0, b""))

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
        return self._handshakes[conn.hs].probe(self._text(conn.target.key >> 16))

    # ---- records (§4.3) ---------------------------------------------------------------

    def _segment_record(self, conn, seg, expected: str, now: float, label: str = UNKNOWN,
                        acked: bool | None = None):
        """The record of a segment the target sent (Counter 0: nothing was retransmitted)."""
        target = conn.target
        return self._record(
            target.key, conn.lport, conn.hs, seg.seq, seg.ack, seg.window, seg.ttl, seg.flags,
            0, expected, seg.payload, label, target.acked if acked is None else acked,
            round(now * 1e9), target.next_hs, target.started, now)

    def _reference_record(self, conn, sent_at: float, now: float) -> Record:
        """The record of a connection that timed out: its reference packet, stamped with the
        time it was last sent or received, as LZR's (§4.3)."""
        target = conn.target
        return self._record(
            target.key, conn.lport, conn.hs, conn.seq, conn.ack, conn.window, conn.ttl,
            conn.flags, conn.counter, EXPECTED[conn.state], b"", UNKNOWN, target.acked,
            round(sent_at * 1e9), target.next_hs, target.started, now)

    def _record(self, key, lport, hs, seq, ack, window, ttl, flags, counter, expected, data,
                label, acked, timestamp_ns, tried, started, now) -> Record:
        return Record(
            saddr=self._text(key >> 16), daddr=self._scanner_text, sport=key & 0xFFFF,
            dport=lport, seqnum=seq, acknum=ack, window=window, ttl=ttl, counter=counter,
            ack=bool(flags & ACK), acked=acked, syn=bool(flags & SYN), rst=bool(flags & RST),
            fin=bool(flags & FIN), push=bool(flags & PSH), handshake_num=hs, fingerprint=label,
            timestamp_ns=timestamp_ns, expected_r_to_lzr=expected, data=data,
            handshake=self._handshakes[hs].name if data else "", handshakes_tried=tried,
            identify_seconds=None if started is None else now - started)

    def _seconds(self, target: Target, now: float) -> float | None:
        return None if target.started is None else now - target.started

    def _text(self, addr: int) -> str:
        """Addresses as LZR writes them: dotted quad, or exploded IPv6 (§4.1, §6.6)."""
        return exploded_ipv6(addr) if self.version == 6 else inet_ntoa(addr.to_bytes(4, "big"))
