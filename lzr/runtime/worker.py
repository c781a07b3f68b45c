"""A worker process: one engine, its targets, its packets, its sender.

Each worker owns the targets that `owners.owner_of` gives it and a disjoint slice of the local
port range. Its loop, once per wake-up:

  read captured segments and new targets -> admit waiting targets at the worker's share of
  -rate (token bucket) -> let the engine act on the clock -> send what it wants sent in one
  sendmmsg batch -> pass its final records to the writer -> tell the feeder how many targets
  it has taken up (the feeder's credit: it gives each worker only a moment's worth ahead).

It ends when the feeder's INPUT_END has arrived, no target is waiting or in flight, and, when
the scan waits a cooldown at all (`ScanConfig.waits_cooldown`), the cooldown since the last
admitted target has passed (no cooldown after a STOP).
"""
from __future__ import annotations

import errno
import secrets
import sys
import time
from collections import deque

import zmq

from lzr.config import ScanConfig
from lzr.engine import Engine
from lzr.pacing import TokenBucket
from lzr.runtime import frames
from lzr.runtime.flow_announce import FlowAnnouncer
from lzr.runtime.neighbours import NeighbourCache, NeighbourRequests
from lzr.runtime.netpath import SendPath
from lzr.runtime.packet_socket import PacketSocket, SendError
from lzr.runtime.processes import Endpoints, end_of_setup, pull, push
from lzr.wire import ACK, FIN, PSH, RST, SYN, FrameBuilder, format_addr, parse_addr

STATS_INTERVAL = 0.5
CREDIT_INTERVAL = 0.02        # how often the feeder hears how many targets were taken up
MAX_WAIT = 0.05                # longest sleep, so the token bucket admits in small steps
ADMIT_STEP = 0.005             # admit new targets in steps of this much of -rate, not one by one
SEND_RETRY_SECONDS = 0.5      # how long a batch may wait for room in a full device queue
TIMER_SLACK = 0.005            # timers fire up to this late, so a wake-up serves many of them
RECORDS_PER_FRAME = 512
RECORDS_INTERVAL = 0.05        # the writer gets records at least this often
_FLAG_NAMES = ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "A"))


class Worker:
    def __init__(self, cfg: ScanConfig, index: int, local_ports: range, endpoints: Endpoints,
                 path: SendPath, announce_endpoint: str | None) -> None:
        self.cfg = cfg
        self.index = index
        self.endpoints = endpoints
        self.path = path
        self.announce_endpoint = announce_endpoint
        self.local_ports = local_ports
        self.pending: deque[tuple[int, int]] = deque()
        # Checkpoints (range scans): targets are numbered as they arrive; `outstanding` holds
        # the admitted ones without a final record, oldest first.
        self.tracking = cfg.checkpoint is not None
        self.received = 0
        self.outstanding: dict[tuple[int, int], int] = {}
        self.input_over = False
        self.stopped = False
        self.last_admit = 0.0
        self.sent = self.synacks = self.data = self.admitted = self.records = self.identified = 0
        self.unsent: list = []        # final records not yet passed to the writer
        self.next_ship = 0.0

    def run(self) -> None:
        cfg = self.cfg
        ctx = zmq.Context()
        targets_in = pull(ctx, self.endpoints.worker_targets(self.index))
        packets_in = pull(ctx, self.endpoints.worker_packets(self.index))
        control_in = pull(ctx, self.endpoints.worker_control(self.index))
        records_out = push(ctx, self.endpoints.writer)
        coordinator = push(ctx, self.endpoints.coordinator)
        feeder = push(ctx, self.endpoints.feeder_control)
        announcer = (FlowAnnouncer(self.announce_endpoint, ctx)
                     if self.announce_endpoint else None)
        self.announcer = announcer
        # Protocol 0: this socket only sends, the kernel queues nothing for it to read.
        self.sock = PacketSocket(self.path.interface, protocol=0, program=None, rcvbuf=1 << 16)
        self.neighbours = (NeighbourCache(self.path.interface, cfg.version,
                                          NeighbourRequests(self.endpoints.neighbour_requests))
                           if self.path.dst_mac is None else None)
        end_of_setup()
        self.builder = FrameBuilder(self.path.src_mac, self.path.dst_mac or b"\0" * 6,
                                    self.path.scanner_addr, cfg.version)
        # ISNs and port order: reproducible with --seed, unpredictable without.
        seed = secrets.randbits(64) if cfg.seed is None else cfg.seed * 1000 + self.index
        self.engine = Engine(cfg.engine_config(), version=cfg.version,
                             scanner_addr=self.path.scanner_addr, local_ports=self.local_ports,
                             seed=seed)
        rate = cfg.rate / cfg.workers
        bucket = TokenBucket(rate, rate * MAX_WAIT, time.time())
        admit_step = max(1.0, bucket.rate * ADMIT_STEP)
        coordinator.send(frames.pack_stats(frames.Ready(self.index)))

        poller = zmq.Poller()
        for sock in (packets_in, control_in, targets_in):
            poller.register(sock, zmq.POLLIN)
        next_stats = next_credit = 0.0
        credited = 0
        while True:
            now = time.time()
            wait = MAX_WAIT if self.pending else STATS_INTERVAL
            if self.received - len(self.pending) != credited:     # a credit is due
                wait = min(wait, max(0.0, next_credit - now))
            deadline = self.engine.next_deadline()
            if deadline is not None:
                wait = min(wait, max(TIMER_SLACK, deadline - now))
            if self.unsent:
                wait = min(wait, max(0.0, self.next_ship - now))
            if self.pending:
                wait = min(wait, bucket.wait(min(len(self.pending), admit_step), now))
            if self.neighbours and self.neighbours.waiting:
                wait = min(wait, MAX_WAIT)
            ready = dict(poller.poll(wait * 1000))
            now = time.time()
            if packets_in in ready:
                self._take_segments(packets_in, now)
            if control_in in ready:
                self._take_control(control_in)
            if targets_in in ready:
                self._take_targets(targets_in, now)
            if self.pending:
                self._admit(bucket.take(len(self.pending), now), now)
            self.engine.advance(now)
            self._flush(records_out, now)
            taken = self.received - len(self.pending)
            if taken != credited and now >= next_credit:
                feeder.send(frames.pack_stats(frames.Credit(self.index, taken)))
                credited, next_credit = taken, now + CREDIT_INTERVAL
            if now >= next_stats:
                coordinator.send(frames.pack_stats(self._stats(False)))
                next_stats = now + STATS_INTERVAL
            if self._finished(now):
                break
        if self.unsent:
            self._ship(records_out)
        records_out.send(frames.empty(frames.WORKER_DONE))
        coordinator.send(frames.pack_stats(self._stats(True)))
        if announcer:
            announcer.close()
        if self.neighbours:
            self.neighbours.close()
        self.sock.close()
        for sock in (targets_in, packets_in, control_in):
            sock.close(linger=0)
        feeder.close(linger=0)
        records_out.close()
        coordinator.close()
        ctx.term()

    # -- inputs -------------------------------------------------------------------------------

    def _take_segments(self, sock: zmq.Socket, now: float) -> None:
        receive = self.engine.receive
        while True:
            try:
                frame = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            for segment in frames.unpack_segments(frame):
                if segment.flags & (SYN | ACK) == SYN | ACK:
                    self.synacks += 1
                if segment.payload:
                    self.data += 1
                if self.cfg.debug:
                    self._debug("<", segment.saddr, segment.sport, segment.dport, segment.seq,
                                segment.ack, segment.flags, segment.window, len(segment.payload))
                receive(segment, now)

    def _take_control(self, sock: zmq.Socket) -> None:
        while True:
            try:
                frame = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if frames.kind_of(frame) == frames.STOP:
                # Ctrl-C: no new targets; those in flight finish within their timeouts. With a
                # checkpoint the targets already handed over are scanned too (the feeder ends
                # its input), so the checkpoint stays exact: nothing repeated, nothing skipped.
                self.stopped = True
                if not self.tracking:
                    self.pending.clear()

    def _take_targets(self, sock: zmq.Socket, now: float) -> None:
        while True:
            try:
                frame = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            kind = frames.kind_of(frame)
            if kind == frames.INPUT_END:
                self.input_over = True
                return
            if kind == frames.TARGETS:
                targets = frames.unpack_targets(frame)
                self.received += len(targets)
                if not self.stopped or self.tracking:
                    self.pending.extend(targets)
            elif kind == frames.SYNACKS and not self.stopped:
                # ZMap already holds these connections open: continue them at once, unpaced.
                for s in frames.unpack_synacks(frame):
                    if self.announcer:
                        self.announcer.opened(s.saddr, s.sport, s.dport)
                    self.engine.add_synack(s.saddr, s.sport, s.dport, s.seq, s.ack, s.window, s.ttl, now)
                    self.admitted += 1
                self.last_admit = now

    def _admit(self, count: int, now: float) -> None:
        add = self.engine.add_target
        first = self.received - len(self.pending)
        for number in range(first, first + count):
            addr, port = self.pending.popleft()
            if self.tracking:
                self.outstanding[addr, port] = number
            add(addr, port, now)
        if count:
            self.admitted += count
            self.last_admit = now

    # -- outputs ------------------------------------------------------------------------------

    def _flush(self, records_out: zmq.Socket, now: float) -> None:
        sends = self.engine.take_sends()
        if sends or (self.neighbours and self.neighbours.waiting):
            self._send(sends)
        records = self.engine.take_records()
        if records:
            self.records += len(records)
            self.identified += sum(1 for r in records if r.fingerprint != "unknown")
            if self.announcer:
                for r in records:
                    self.announcer.closed(parse_addr(r.saddr)[1], r.sport, r.dport)
                self.announcer.flush()
            self.unsent += records
        if self.unsent and (len(self.unsent) >= RECORDS_PER_FRAME or now >= self.next_ship):
            self._ship(records_out)
            self.next_ship = now + RECORDS_INTERVAL

    def _ship(self, records_out: zmq.Socket) -> None:
        """Records to the writer, many per frame; only then do they count for checkpoints."""
        if self.tracking:
            for r in self.unsent:
                self.outstanding.pop((parse_addr(r.saddr)[1], r.sport), None)
        records_out.send(frames.pack_records(self.unsent))
        self.unsent = []

    def _send(self, sends) -> None:
        build, announcer, neighbours = self.builder.segment, self.announcer, self.neighbours
        batch = []
        if neighbours:
            for addr, mac, held in neighbours.resolved():
                if mac is not None:
                    batch.extend(build(s.daddr, s.sport, s.dport, s.seq, s.ack, s.flags,
                                       s.window, s.payload, mac) for s in held)
                elif self.cfg.debug:
                    print(f"lzr: worker{self.index}: no MAC for {format_addr(self.cfg.version, addr)}; "
                          f"{len(held)} segments dropped", file=sys.stderr, flush=True)
        for s in sends:
            if self.cfg.debug:
                self._debug(">", s.daddr, s.dport, s.sport, s.seq, s.ack, s.flags, s.window,
                            len(s.payload))
            if announcer:
                if s.flags == SYN:
                    announcer.opened(s.daddr, s.dport, s.sport)
                elif s.flags & RST:
                    announcer.closed(s.daddr, s.dport, s.sport)
            mac = None
            if neighbours:
                mac = neighbours.known.get(s.daddr)
                if mac is None:
                    neighbours.hold(s.daddr, s)
                    continue
            batch.append(build(s.daddr, s.sport, s.dport, s.seq, s.ack, s.flags, s.window,
                               s.payload, mac))
        if announcer:
            announcer.flush()   # the guard learns of a flow before its SYN-ACK can arrive
        if batch:
            self._send_all(batch)

    def _send_all(self, batch: list[bytes]) -> None:
        """Send a batch, resuming where a full device queue (ENOBUFS) stopped it. Frames still
        refused after SEND_RETRY_SECONDS are dropped and counted: the engine retransmits."""
        deadline = time.monotonic() + SEND_RETRY_SECONDS
        pause = 0.0002
        while batch:
            try:
                self.sock.send_batch(batch)
            except SendError as error:
                if error.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
                self.sent += error.sent
                batch = batch[error.sent:]
                if time.monotonic() > deadline:
                    print(f"lzr: worker{self.index}: the device queue stayed full; {len(batch)} frames "
                          "dropped (lower -rate)", file=sys.stderr, flush=True)
                    return
                time.sleep(pause)
                pause = min(pause * 2, 0.01)
            else:
                self.sent += len(batch)
                return

    def _debug(self, direction: str, addr: int, port: int, local_port: int, seq: int, ack: int,
               flags: int, window: int, length: int) -> None:
        """-d: one line per segment in or out, tcpdump-like, on stderr."""
        names = "".join(name for bit, name in _FLAG_NAMES if flags & bit) or "."
        print(f"lzr: worker{self.index} {direction} {format_addr(self.cfg.version, addr)}:{port} "
              f"local {local_port} [{names}] seq {seq} ack {ack} win {window} len {length}",
              file=sys.stderr, flush=True)

    def _finished_below(self) -> int:
        """Every target numbered below this has its final record."""
        if self.outstanding:
            return next(iter(self.outstanding.values()))
        return self.received - len(self.pending)

    def _stats(self, done: bool) -> frames.WorkerStats:
        return frames.WorkerStats(self.index, self.sent, self.synacks, self.data, self.admitted,
                                 self.records, self.identified, self.engine.in_flight,
                                 len(self.pending), self._finished_below(), done)

    def _finished(self, now: float) -> bool:
        if not self.input_over or self.pending or self.engine.in_flight:
            return False
        # After Ctrl-C nothing new was sent, so there are no late SYN-ACKs worth a cooldown.
        if self.stopped or not self.cfg.waits_cooldown:
            return True
        return now >= self.last_admit + self.cfg.cooldown


def run_worker(cfg: ScanConfig, index: int, local_ports: range, endpoints: Endpoints,
              path: SendPath, announce_endpoint: str | None) -> None:
    Worker(cfg, index, local_ports, endpoints, path, announce_endpoint).run()
