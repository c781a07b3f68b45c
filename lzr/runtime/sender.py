"""A sender process: its stream of a range scan's permutation -> stateless SYNs -> the NIC.

Range scans (`--targets` x `--ports`) are sent by `--senders` processes that keep nothing per
target, as ZMap's send threads do. Sender s takes stream s of the permutation
(lzr.targets.walk) and, chunk by chunk:

  compute the chunk's targets (numpy) -> their SYN's local port and sequence number, a keyed
  hash (validation.py) -> patch them into a batch of SYN frames (syn_batch.py) -> send the
  batch with sendmmsg straight from its buffer, paced by a token bucket at the sender's
  share of -rate (new targets per second).

The SYN retransmission (-rn) is another pass over the same chunks, -t after the previous one:
the chunk is computed again, not kept. A chunk whose last pass is over is reported to the
coordinator (`SenderMark`), which turns rounds of chunks into checkpoints once every answer
they could draw has had its time. Answers go to the workers through the receiver; the sender
never hears of them.

Ctrl-C (STOP) ends the sending at once; with --checkpoint the retransmission passes of chunks
already sent still run, so every target the last checkpoint covers got all its SYNs (a second
Ctrl-C, INTERRUPT, ends those too). A worker at its cap of targets in flight (--max-in-flight)
asks the senders to hold (HOLD): no new chunk goes out until every worker is below it again,
retransmissions go on. At the end each worker hears when the last SYN left (`SYNS_DONE`): it
waits -t after it for answers.
"""
from __future__ import annotations

import sys
import time
from collections import deque
from typing import NamedTuple

import numpy as np
import zmq

from lzr.config import ScanConfig
from lzr.pacing import TokenBucket
from lzr.runtime import frames
from lzr.runtime.neighbours import NeighbourCache, NeighbourRequests
from lzr.runtime.netpath import SendPath
from lzr.runtime.packet_socket import PacketSocket, RowSender, SendError
from lzr.runtime.processes import Endpoints, end_of_setup, pull, push, waiting
from lzr.runtime.syn_batch import SynBatch, with_next_hops
from lzr.runtime.validation import Validation
from lzr.targets.ranges import RangeScan
from lzr.targets.walk import StreamWalk
from lzr.wire import FrameBuilder

CHUNK_SECONDS = 0.005     # a chunk is about this much of the sender's share of -rate
MAX_CHUNK = 4096
BURST_SECONDS = 0.2       # the token bucket's burst, in seconds of rate: a stall is made up
STATS_INTERVAL = 0.25
MARKS_INTERVAL = 0.1
MAX_WAIT = 0.1            # the longest sleep: control messages are looked at this often


def chunk_size(rate: int, senders: int) -> int:
    """Targets per chunk (the same in every sender of a scan)."""
    return max(1, min(MAX_CHUNK, int(rate / senders * CHUNK_SECONDS)))


class _Pass(NamedTuple):
    due: float          # when the next pass of the chunk is due
    chunk: int
    count: int          # targets of the chunk this stream sends (--max-targets may cut it)
    passes: int         # passes done
    targets: int        # the stream's targets up to and including this chunk


class Sender:
    def __init__(self, cfg: ScanConfig, index: int, senders: int, endpoints: Endpoints,
                 path: SendPath, validation: Validation, scan: RangeScan) -> None:
        self.cfg = cfg
        self.index = index
        self.endpoints = endpoints
        self.path = path
        self.validation = validation
        self.walk = StreamWalk(scan, senders, index, chunk_size(cfg.rate, senders))
        # --max-targets: this stream's share of what is left to hand out.
        self.allowance = None
        if scan.limit is not None:
            left = max(0, scan.limit - scan.handed)
            self.allowance = left // senders + (1 if index < left % senders else 0)
        self.blocked = scan.space.blocked if index == 0 else 0
        self.targets = self.packets = 0
        self.last_syn_at = float("-inf")
        self.marks: list[frames.SenderMark] = []
        self.holding: set[int] = set()      # workers at their cap of targets in flight

    def run(self) -> None:
        cfg, walk = self.cfg, self.walk
        ctx = zmq.Context()
        control = pull(ctx, self.endpoints.sender_control(self.index))
        coordinator = push(ctx, self.endpoints.coordinator)
        writer = push(ctx, self.endpoints.writer)
        workers = [push(ctx, self.endpoints.worker_targets(k)) for k in range(cfg.workers)]
        self.sock = PacketSocket(self.path.interface, protocol=0, program=None, rcvbuf=1 << 16,
                                 qdisc_bypass=True)
        self.batch = SynBatch(self.path.src_mac, self.path.dst_mac, self.path.scanner_addr,
                              cfg.version, walk.chunk)
        self.rows = RowSender(self.sock, self.batch.buffer)
        self.neighbours = (NeighbourCache(self.path.interface, cfg.version,
                                          NeighbourRequests(self.endpoints.neighbour_requests))
                           if self.path.dst_mac is None else None)
        end_of_setup()
        self.builder = FrameBuilder(self.path.src_mac, bytes(6), self.path.scanner_addr,
                                    cfg.version)
        now = time.monotonic()
        rate = cfg.rate / walk.streams
        bucket = TokenBucket(rate, max(walk.chunk, rate * BURST_SECONDS), now)
        passes: deque[_Pass] = deque()
        next_chunk, stopped, retransmitting = 0, False, True
        exhausted = self._exhausted(next_chunk)
        if exhausted:
            self.marks.append(frames.SenderMark(0, 0, now, True))
        upcoming = None                      # (chunk, addrs, ports) computed, waiting for tokens
        next_stats = next_marks = 0.0
        while True:
            now = time.monotonic()
            if control.poll(0):
                stop, interrupt = self._take_control(control)
                if stop or interrupt:
                    stopped = True
                    upcoming = None
                    retransmitting = retransmitting and cfg.checkpoint is not None and not interrupt
                    if not retransmitting:
                        passes.clear()
            while passes and passes[0].due <= now and retransmitting:
                item = passes.popleft()
                if item.count:
                    addrs, ports = walk.targets(item.chunk)
                    self._send(addrs[:item.count], ports[:item.count])
                now = time.monotonic()
                if item.passes + 1 < cfg.retries:
                    passes.append(item._replace(due=now + cfg.timeout, passes=item.passes + 1))
                else:
                    self._mark(item, now, exhausted and item.chunk + 1 == next_chunk)
            if not exhausted and not stopped and not self.holding:
                if upcoming is None:
                    addrs, ports = walk.targets(next_chunk)
                    if self.allowance is not None:
                        addrs, ports = addrs[:self.allowance - self.targets], \
                            ports[:self.allowance - self.targets]
                    upcoming = (next_chunk, addrs, ports)
                chunk, addrs, ports = upcoming
                if bucket.take_all(len(ports), now):
                    self._send(addrs, ports)
                    self.targets += len(ports)
                    now = time.monotonic()
                    upcoming = None
                    next_chunk += 1
                    exhausted = self._exhausted(next_chunk)
                    item = _Pass(now + cfg.timeout, chunk, len(ports), 0, self.targets)
                    if cfg.retries:
                        passes.append(item)
                    else:
                        self._mark(item, now, exhausted)
            if self.neighbours:
                self._send_resolved()
            if now >= next_marks and self.marks:
                coordinator.send(frames.pack_sender_marks(self.index, self.marks))
                self.marks = []
                next_marks = now + MARKS_INTERVAL
            if now >= next_stats:
                coordinator.send(frames.pack_stats(frames.SenderStats(
                    self.index, self.targets, self.packets, False)))
                next_stats = now + STATS_INTERVAL
            sending_over = (exhausted or stopped) and not (passes and retransmitting)
            if sending_over and not (self.neighbours and self.neighbours.waiting):
                break
            wait = self._wait(now, passes if retransmitting else None, upcoming, bucket,
                              exhausted or stopped or bool(self.holding))
            if wait > 0 and control.poll(wait * 1000):
                continue
        if self.marks:
            coordinator.send(frames.pack_sender_marks(self.index, self.marks))
        done = frames.pack_stats(frames.SynsDone(self.index, self.last_syn_at))
        for worker in workers:
            worker.send(done)
        writer.send(frames.pack_stats(frames.InputCounts(0, self.blocked, self.targets)))
        coordinator.send(frames.pack_stats(frames.SenderStats(
            self.index, self.targets, self.packets, True)))
        if self.neighbours:
            self.neighbours.close()
        self.sock.close()
        control.close(linger=0)
        for sock in (coordinator, writer, *workers):
            sock.close()
        ctx.term()

    def _take_control(self, control: zmq.Socket) -> tuple[bool, bool]:
        """(STOP came, INTERRUPT came); HOLD frames update `holding`."""
        stop = interrupt = False
        for frame in waiting(control):
            kind = frames.kind_of(frame)
            if kind == frames.HOLD:
                hold = frames.unpack_stats(frame)
                (self.holding.add if hold.holding else self.holding.discard)(hold.worker)
            stop = stop or kind == frames.STOP
            interrupt = interrupt or kind == frames.INTERRUPT
        return stop, interrupt

    def _exhausted(self, next_chunk: int) -> bool:
        return next_chunk >= self.walk.chunks or (
            self.allowance is not None and self.targets >= self.allowance)

    def _mark(self, item: _Pass, now: float, final: bool) -> None:
        self.marks.append(frames.SenderMark(item.chunk + 1, item.targets, now, final))

    @staticmethod
    def _wait(now: float, passes, upcoming, bucket: TokenBucket, idle: bool) -> float:
        wait = MAX_WAIT
        if passes:
            wait = min(wait, passes[0].due - now)
        if upcoming is not None:
            wait = min(wait, bucket.wait(len(upcoming[2]), now))
        elif not idle:
            wait = 0.0
        return max(0.0, wait)

    # -- sending ---------------------------------------------------------------------------------

    def _send(self, addrs: np.ndarray, ports: np.ndarray) -> None:
        if not len(ports):
            return
        lports, isns = self.validation.expect_many(addrs, ports)
        macs = None
        if self.neighbours:
            addrs, ports, lports, isns, macs = with_next_hops(
                self.neighbours, self.builder, self.cfg.version, addrs, ports, lports, isns)
        count = len(self.batch.build(addrs, ports, lports, isns, macs))
        self._send_rows(count)

    def _send_rows(self, count: int) -> None:
        """Every row; a full device queue (ENOBUFS) makes the sender wait, not drop."""
        self.packets += self.rows.send_waiting(count)
        self.last_syn_at = time.monotonic()

    def _send_resolved(self) -> None:
        frames_out = [mac + frame[6:] for _, mac, held in self.neighbours.resolved()
                      if mac is not None for frame in held]
        if frames_out:
            try:
                self.sock.send_batch(frames_out)
            except SendError as error:
                print(f"lzr: sender{self.index}: {error}", file=sys.stderr, flush=True)
            self.packets += len(frames_out)
            self.last_syn_at = time.monotonic()


def run_sender(cfg: ScanConfig, index: int, senders: int, endpoints: Endpoints, path: SendPath,
               validation: Validation, scan: RangeScan) -> None:
    Sender(cfg, index, senders, endpoints, path, validation, scan).run()
