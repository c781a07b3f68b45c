"""A worker process: the I/O around one WorkerCore (worker_core.py) and its engine.

Each worker owns the targets that `owners.owner_of` gives it and a disjoint slice of the local
port range for the connections its engine opens. Its loop, once per wake-up:

  wait for a message or the core's next wake-up -> read the clock (monotonic) -> hand
  captured segments, targets and control messages to the core -> let it act on the clock ->
  send the engine's segments and the core's stateless SYNs (sendmmsg batches) -> pass final
  records to the writer -> tell the feeder how many targets it has taken up (credit) and the
  coordinator its counters.

Records carry engine times, which are monotonic; their timestamps become Unix time through one
offset measured when the worker starts. The loop ends when the core says the worker is
finished.
"""
from __future__ import annotations

import errno
import secrets
import sys
import time

import zmq

from lzr.config import RANGES, ScanConfig
from lzr.engine import Engine
from lzr.runtime import frames
from lzr.runtime.flow_announce import FlowAnnouncer
from lzr.runtime.neighbours import NeighbourCache, NeighbourRequests
from lzr.runtime.netpath import SendPath
from lzr.runtime.packet_socket import PacketSocket, RowSender, SendError
from lzr.runtime.processes import Endpoints, end_of_setup, pull, push, waiting
from lzr.runtime.syn_batch import SynBatch, target_keys, with_next_hops
from lzr.runtime.validation import Validation
from lzr.runtime.worker_core import WorkerCore
from lzr.wire import ACK, FIN, PSH, RST, SYN, FrameBuilder, format_addr, parse_addr

STATS_INTERVAL = 0.25
CREDIT_INTERVAL = 0.02        # how often the feeder hears how many targets were taken up
SEND_RETRY_SECONDS = 0.5      # how long a batch may wait for room in a full device queue
RECORDS_PER_FRAME = 512
RECORDS_INTERVAL = 0.05        # the writer gets records at least this often
SYN_BATCH = 1024
_FLAG_NAMES = ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "A"))


class Worker:
    def __init__(self, cfg: ScanConfig, index: int, local_ports: range, endpoints: Endpoints,
                 path: SendPath, announce_endpoint: str | None, validation: Validation | None,
                 senders: int, max_in_flight: int) -> None:
        self.cfg = cfg
        self.index = index
        self.endpoints = endpoints
        self.path = path
        self.announce_endpoint = announce_endpoint
        self.local_ports = local_ports
        self.validation = validation
        self.senders = senders
        self.max_in_flight = max_in_flight
        self.sent = 0
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
        feeder = push(ctx, self.endpoints.feeder_control) if cfg.mode != RANGES else None
        senders = [push(ctx, self.endpoints.sender_control(i)) for i in range(self.senders)]
        self.announcer = (FlowAnnouncer(self.announce_endpoint, ctx)
                          if self.announce_endpoint else None)
        # Protocol 0: this socket only sends, the kernel queues nothing for it to read.
        self.sock = PacketSocket(self.path.interface, protocol=0, program=None, rcvbuf=1 << 16)
        self.neighbours = (NeighbourCache(self.path.interface, cfg.version,
                                          NeighbourRequests(self.endpoints.neighbour_requests))
                           if self.path.dst_mac is None else None)
        end_of_setup()
        self.builder = FrameBuilder(self.path.src_mac, self.path.dst_mac or b"\0" * 6,
                                    self.path.scanner_addr, cfg.version)
        self.syn_batch = SynBatch(self.path.src_mac, self.path.dst_mac, self.path.scanner_addr,
                                  cfg.version, SYN_BATCH)
        self.rows = RowSender(self.sock, self.syn_batch.buffer)
        self.clock_offset_ns = round((time.time() - time.monotonic()) * 1e9)
        # ISNs and port order of the engine's own connections: reproducible with --seed.
        seed = secrets.randbits(64) if cfg.seed is None else cfg.seed * 1000 + self.index
        engine = Engine(cfg.engine_config(), version=cfg.version,
                        scanner_addr=self.path.scanner_addr, local_ports=self.local_ports,
                        seed=seed)
        core = self.core = WorkerCore(cfg, engine, self.validation, self.senders,
                                      self.max_in_flight, time.monotonic())
        coordinator.send(frames.pack_stats(frames.Ready(self.index)))

        poller = zmq.Poller()
        for sock in (packets_in, control_in, targets_in):
            poller.register(sock, zmq.POLLIN)
        next_stats = next_credit = 0.0
        credited = 0
        while True:
            now = time.monotonic()
            wait = core.next_wakeup(now) - now
            if self.unsent:
                wait = min(wait, self.next_ship - now)
            if self.neighbours and self.neighbours.waiting:
                wait = min(wait, 0.02)
            ready = dict(poller.poll(max(0.0, wait) * 1000))
            now = time.monotonic()
            if packets_in in ready:
                self._take_segments(packets_in, now)
            if control_in in ready:
                self._take_control(control_in, now)
            if targets_in in ready:
                self._take_targets(targets_in, now)
            core.advance(now)
            self._flush(records_out, now)
            if feeder is not None and core.taken != credited and now >= next_credit:
                feeder.send(frames.pack_stats(frames.Credit(self.index, core.taken)))
                credited, next_credit = core.taken, now + CREDIT_INTERVAL
            hold = core.hold_changed()
            if hold is not None:
                for sender in senders:
                    sender.send(frames.pack_stats(frames.Hold(self.index, hold)))
            if now >= next_stats:
                # What was taken from the engine goes out first: the watermark vouches for it.
                if self.unsent:
                    self._ship(records_out)
                records_out.send(frames.pack_stats(frames.Watermark(self.index,
                                                                    core.finished_before)))
                coordinator.send(frames.pack_stats(self._stats(False)))
                next_stats = now + STATS_INTERVAL
            if core.finished(now):
                break
        if self.unsent:
            self._ship(records_out)
        records_out.send(frames.pack_stats(frames.Watermark(self.index, core.finished_before)))
        records_out.send(frames.pack_stats(frames.WorkerDone(self.index, core.syned,
                                                             core.answers)))
        coordinator.send(frames.pack_stats(self._stats(True)))
        if self.announcer:
            self.announcer.close()
        if self.neighbours:
            self.neighbours.close()
        self.sock.close()
        for sock in (targets_in, packets_in, control_in):
            sock.close(linger=0)
        if feeder is not None:
            feeder.close(linger=0)
        for sender in senders:
            sender.close(linger=0)
        records_out.close()
        coordinator.close()
        ctx.term()

    # -- inputs -------------------------------------------------------------------------------

    def _take_segments(self, sock: zmq.Socket, now: float) -> None:
        for frame in waiting(sock):
            items, watermark = frames.unpack_segments(frame)
            if self.cfg.debug:
                for s, answer in items:
                    self._debug("<" if not answer else "<*", s.saddr, s.sport, s.dport, s.seq,
                                s.ack, s.flags, s.window, len(s.payload))
            self.core.segments(items, watermark, now)

    def _take_control(self, sock: zmq.Socket, now: float) -> None:
        for frame in waiting(sock):
            kind = frames.kind_of(frame)
            if kind == frames.STOP and not self.core.stopped:
                self.core.stop(now)
            elif kind == frames.INTERRUPT and not self.core.interrupted:
                self.core.interrupt(now)

    def _take_targets(self, sock: zmq.Socket, now: float) -> None:
        for frame in waiting(sock):
            kind = frames.kind_of(frame)
            if kind == frames.INPUT_END:
                self.core.input_ended()
            elif kind == frames.SYNS_DONE:
                self.core.syns_done(frames.unpack_stats(frame).last_syn_at)
            elif kind == frames.TARGETS:
                self.core.targets(frames.unpack_targets(frame))
            elif kind == frames.SYNACKS:
                synacks = frames.unpack_synacks(frame)
                if self.announcer and not self.core.stopped:
                    for s in synacks:
                        self.announcer.opened(s.saddr, s.sport, s.dport)
                self.core.synacks_from_zmap(synacks, now)

    # -- outputs ------------------------------------------------------------------------------

    def _flush(self, records_out: zmq.Socket, now: float) -> None:
        core = self.core
        for syns in core.take_syns():
            self._send_syns(syns)
        sends = core.take_sends()
        if sends or (self.neighbours and self.neighbours.waiting):
            self._send(sends)
        records = core.take_records()
        if records:
            if self.announcer:
                for r in records:
                    self.announcer.closed(parse_addr(r.saddr)[1], r.sport, r.dport)
                self.announcer.flush()
            self.unsent += records
        if self.unsent and (len(self.unsent) >= RECORDS_PER_FRAME or now >= self.next_ship):
            self._ship(records_out)
            self.next_ship = now + RECORDS_INTERVAL

    def _ship(self, records_out: zmq.Socket) -> None:
        records_out.send(frames.pack_records(self.unsent, self.clock_offset_ns))
        self.unsent = []

    def _send_syns(self, syns) -> None:
        """Stateless SYNs of list targets, SYN_BATCH frames per batch."""
        macs = None
        for start in range(0, len(syns.ports), SYN_BATCH):
            part = slice(start, start + SYN_BATCH)
            addrs, ports = syns.addrs[part], syns.ports[part]
            lports, isns = syns.lports[part], syns.isns[part]
            if self.cfg.debug:
                for key, lport, isn in zip(target_keys(self.cfg.version, addrs, ports),
                                           lports.tolist(), isns.tolist()):
                    self._debug(">", key >> 16, key & 0xFFFF, lport, isn, 0, SYN, 65535, 0)
            if self.neighbours:
                addrs, ports, lports, isns, macs = with_next_hops(
                    self.neighbours, self.builder, self.cfg.version, addrs, ports, lports, isns)
            rows = self.syn_batch.build(addrs, ports, lports, isns, macs)
            self._send_rows(len(rows))

    def _send(self, sends) -> None:
        build, announcer, neighbours = self.builder.segment, self.announcer, self.neighbours
        batch = []
        if neighbours:
            for addr, mac, held in neighbours.resolved():
                if mac is not None:
                    batch.extend(_with_mac(item, mac) if isinstance(item, bytes) else
                                 build(item.daddr, item.sport, item.dport, item.seq, item.ack,
                                       item.flags, item.window, item.payload, mac)
                                 for item in held)
                elif self.cfg.debug:
                    print(f"lzr: worker{self.index}: no MAC for "
                          f"{format_addr(self.cfg.version, addr)}; {len(held)} segments dropped",
                          file=sys.stderr, flush=True)
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
                    print(f"lzr: worker{self.index}: the device queue stayed full; {len(batch)} "
                          "frames dropped (lower -rate)", file=sys.stderr, flush=True)
                    return
                time.sleep(pause)
                pause = min(pause * 2, 0.01)
            else:
                self.sent += len(batch)
                return

    def _send_rows(self, count: int) -> None:
        """The first `count` rows of the SYN batch, like _send_all."""
        sent = self.rows.send_waiting(count, SEND_RETRY_SECONDS)
        if sent < count:
            print(f"lzr: worker{self.index}: the device queue stayed full; {count - sent} SYNs "
                  "dropped (lower -rate)", file=sys.stderr, flush=True)
        self.sent += sent

    def _debug(self, direction: str, addr: int, port: int, local_port: int, seq: int, ack: int,
               flags: int, window: int, length: int) -> None:
        """-d: one line per segment in or out, tcpdump-like, on stderr (`<*`: an answer the
        receiver validated)."""
        names = "".join(name for bit, name in _FLAG_NAMES if flags & bit) or "."
        print(f"lzr: worker{self.index} {direction} {format_addr(self.cfg.version, addr)}:{port} "
              f"local {local_port} [{names}] seq {seq} ack {ack} win {window} len {length}",
              file=sys.stderr, flush=True)

    def _stats(self, done: bool) -> frames.WorkerStats:
        core = self.core
        return frames.WorkerStats(
            self.index, self.sent, core.synacks, core.data, core.admitted, core.answers,
            core.records, core.identified, core.engine.in_flight, len(core.pending),
            core.unanswered_held, core.finished_before, core.engine.backlog_seconds(), done)


def _with_mac(frame: bytes, mac: bytes) -> bytes:
    """A frame built for an unresolved next hop, addressed to it now."""
    return mac + frame[6:]


def run_worker(cfg: ScanConfig, index: int, local_ports: range, endpoints: Endpoints,
               path: SendPath, announce_endpoint: str | None, validation: Validation | None,
               senders: int, max_in_flight: int) -> None:
    Worker(cfg, index, local_ports, endpoints, path, announce_endpoint, validation, senders,
           max_in_flight).run()
