"""The feeder process: stdin -> checked targets -> the worker that owns each one.

Input is ZMap JSON or CSV, IP;PORT lists or `zmap --dryrun` text, read as it arrives: a batch
goes out as soon as stdin has nothing more to read right now, so ZMap's SYN-ACKs are
continued while ZMap still runs (LZR held them until EOF). Range scans have no feeder: their
senders walk the permutation themselves (sender.py); `range_scan` here sets one up.

Every item is checked before it leaves: malformed lines are reported with their number and
counted (or abort the scan with --strict), targets the do-not-scan lists forbid are counted
and dropped. The same checks back `--print-targets`, which writes targets instead of sending.
"""
from __future__ import annotations

import os
import secrets
import select
import sys
import time
from typing import Iterable, Iterator

import zmq

from lzr.config import DRYRUN, RANGES, SYNS, ZMAP, ScanConfig
from lzr.runtime import frames
from lzr.runtime.processes import Endpoints, end_of_setup, pull, push, waiting
from lzr.runtime.owners import owner_of
from lzr.targets import inputs, ranges
from lzr.targets.blocklist import AddressPolicy, parse_network, parse_network_lines
from lzr.targets.lines import LineReader, OverlongLine, split_lines
from lzr.targets.types import LineError, SynAck, Target, TargetSpecError
from lzr.wire import format_addr

MAX_BATCH = 256
STATS_INTERVAL = 0.5
# Targets given to a worker and not yet taken up, at most this much of its share of -rate:
# credit-based flow control (ZeroMQ's high-water marks count frames, and the kernel's socket
# buffers hold many more), so after a STOP only a moment's worth is still on its way.
IN_TRANSIT_SECONDS = 0.25


class InputError(RuntimeError):
    """--strict and a malformed line, or an input file that cannot be read."""


def _lines_of(binary_file) -> Iterator[str | OverlongLine]:
    """A binary file's lines, decoded; a line beyond the length bound becomes an OverlongLine."""
    return split_lines(iter(lambda: binary_file.read1(1 << 16), b""))


def address_policy(cfg: ScanConfig) -> AddressPolicy:
    """The do-not-scan rules of this scan; bad lines in the list files are usage errors."""
    def networks(path: str, flag: str):
        with open(path, "rb") as fh:
            items = list(parse_network_lines(_lines_of(fh)))
        errors = [item for item in items if isinstance(item, LineError)]
        if errors:
            raise InputError(f"{flag} {path}: {errors[0]}")
        return items
    blocklist = networks(cfg.blocklist, "--blocklist") if cfg.blocklist else ()
    allowlist = networks(cfg.allowlist, "--allowlist") if cfg.allowlist else None
    return AddressPolicy(blocklist=blocklist, allowlist=allowlist, allow_reserved=cfg.allow_reserved)


class TargetStream:
    """Parsed, checked input items, with the counts the summary and progress line need."""

    def __init__(self, cfg: ScanConfig, policy: AddressPolicy, scanner_addr: int | None) -> None:
        self.cfg = cfg
        self.policy = policy
        self.scanner_addr = scanner_addr
        self.lines = self.targets = self.malformed = self.blocked = 0
        self.total = 0

    def parse(self, lines: Iterable[str]) -> Iterator[Target | SynAck | LineError]:
        mode = self.cfg.mode
        if mode == SYNS:
            return inputs.parse_target_list(lines)
        if mode == DRYRUN:
            return inputs.parse_zmap_dryrun(lines)
        fmt = self.cfg.input_format
        if fmt == "auto":
            return inputs.parse_zmap(lines)
        return inputs.parse_zmap_json(lines) if fmt == "json" else inputs.parse_zmap_csv(lines)

    def checked(self, items: Iterable[Target | SynAck | LineError]
                ) -> Iterator[Target | SynAck]:
        version, allowed = self.cfg.version, self.policy.is_allowed
        for item in items:
            if isinstance(item, LineError):
                self._malformed(str(item))
                continue
            if item.version != version:
                hint = "" if self.cfg.ipv6 else " (add -ipv6)"
                self._malformed(f"line {self.lines}: IPv{item.version} target in an "
                                f"IPv{version} scan{hint}")
                continue
            addr = item.saddr if isinstance(item, SynAck) else item.addr
            if isinstance(item, SynAck) and self.scanner_addr is not None \
                    and item.daddr != self.scanner_addr:
                self._malformed(f"line {self.lines}: daddr {format_addr(version, item.daddr)} is "
                                f"not the scanner's address "
                                f"{format_addr(version, self.scanner_addr)} (see -sourceIP)")
                continue
            if not allowed(version, addr):
                self.blocked += 1
                continue
            self.targets += 1
            yield item

    def _malformed(self, message: str) -> None:
        self.malformed += 1
        if self.cfg.strict:
            raise InputError(f"input {message} (--strict)")
        print(f"lzr: skipped input {message}", file=sys.stderr, flush=True)

    def counted(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            self.lines += 1
            yield line


def range_scan(cfg: ScanConfig, stream: TargetStream) -> ranges.RangeScan:
    """This run's shard of a range scan, resumed from --checkpoint when the file exists."""
    try:
        space = ranges.TargetSpace([parse_network(text) for text in cfg.targets], cfg.ports,
                                   stream.policy)
        resume = None
        if cfg.checkpoint and os.path.exists(cfg.checkpoint):
            with open(cfg.checkpoint) as fh:
                resume = ranges.Checkpoint.from_json(fh.read())
        # Without --seed: a fresh permutation, as ZMap does, or the one being resumed.
        seed = cfg.seed if cfg.seed is not None else resume.seed if resume else secrets.randbits(32)
        scan = ranges.RangeScan(space, seed=seed, shards=cfg.shards, shard=cfg.shard,
                                max_targets=cfg.max_targets, resume=resume)
    except ranges.CheckpointError as err:
        raise InputError(f"--checkpoint {cfg.checkpoint}: {err}") from None
    except TargetSpecError as err:
        raise InputError(f"--targets: {err}") from None
    stream.blocked = space.blocked
    stream.total = scan.limit if scan.limit is not None else space.size // cfg.shards
    return scan


def range_items(scan: ranges.RangeScan, stream: TargetStream) -> Iterator[Target]:
    for target in scan:
        stream.targets += 1
        yield target


class Feeder:
    def __init__(self, cfg: ScanConfig, endpoints: Endpoints, stdin_fd: int,
                 scanner_addr: int) -> None:
        self.cfg = cfg
        self.stdin_fd = stdin_fd
        self.ctx = zmq.Context()
        self.to_worker = [push(self.ctx, endpoints.worker_targets(i)) for i in range(cfg.workers)]
        self.control = pull(self.ctx, endpoints.feeder_control)
        self.coordinator = push(self.ctx, endpoints.coordinator)
        self.writer = push(self.ctx, endpoints.writer)
        self.stream = TargetStream(cfg, address_policy(cfg), scanner_addr)
        self.synacks = cfg.mode == ZMAP
        self.batches: list[list] = [[] for _ in range(cfg.workers)]
        # About an eighth of a second of each worker's share of -rate per frame, so few
        # targets sit between the feeder and the workers.
        self.batch_size = max(16, min(MAX_BATCH, cfg.rate // (cfg.workers * 8)))
        self.delivered = [0] * cfg.workers     # targets each worker has been given
        self.taken = [0] * cfg.workers         # ... and has taken up (its last CREDIT)
        self.window = max(64, int(cfg.rate / cfg.workers * IN_TRANSIT_SECONDS), 2 * self.batch_size)
        self.stopped = False        # STOP arrived: read no more input, hand nothing more over
        self.next_stats = 0.0

    def run(self) -> None:
        stream = self.stream
        workers = self.cfg.workers
        items = stream.checked(stream.parse(stream.counted(self._stdin_lines())))
        end_of_setup()      # the list files are read: parse input unprivileged
        for item in items:
            if self.synacks:
                entry = item
                index = owner_of(item.saddr, workers)
            else:
                entry = (item.addr, item.port)
                index = owner_of(item.addr, workers)
            batch = self.batches[index]
            batch.append(entry)
            if len(batch) >= self.batch_size:
                self._send(index)
            if self.stopped:
                break
            self._report(finished=False)
        for index in range(workers):
            self._send(index)
            self._deliver(index, frames.empty(frames.INPUT_END))
        self.writer.send(frames.pack_stats(frames.InputCounts(stream.malformed, stream.blocked, 0)))
        self._report(finished=True)
        # Stay until the coordinator ends this process: libzmq may drop frames still queued
        # towards a full peer when the socket closes, and the last targets and INPUT_END
        # must arrive. The workers finishing is the receipt.
        while True:
            self.control.recv()     # late credits, unread, would keep a poll() busy

    def _stdin_lines(self) -> Iterator[str | OverlongLine]:
        """stdin line by line as it arrives; batches are flushed whenever it would block."""
        reader = LineReader()
        while True:
            if not select.select([self.stdin_fd], [], [], 0)[0]:
                for index in range(self.cfg.workers):
                    self._send(index)
                while not self.stopped and not select.select([self.stdin_fd], [], [],
                                                             STATS_INTERVAL)[0]:
                    self._poll_control()
                    self._report(finished=False)
            if self.stopped:
                return
            chunk = os.read(self.stdin_fd, 1 << 16)
            if not chunk:
                break
            yield from reader.feed(chunk)
            self._poll_control()
            self._report(finished=False)
        yield from reader.end()

    def _send(self, index: int) -> None:
        batch = self.batches[index]
        if not batch:
            return
        self.batches[index] = []
        if self.synacks:    # ZMap's SYN-ACKs are taken up at once, unpaced: no credit needed
            self._deliver(index, frames.pack_synacks(batch))
            return
        while self.delivered[index] - self.taken[index] >= self.window and not self.stopped:
            self._wait_for_control()
        if not self.stopped:    # after a STOP what was read is abandoned
            self._deliver(index, frames.pack_targets(batch))
            self.delivered[index] += len(batch)

    def _deliver(self, index: int, frame: bytes) -> None:
        """Send, waiting (and hearing STOP and credits) while ZeroMQ cannot take more."""
        while True:
            try:
                self.to_worker[index].send(frame, zmq.NOBLOCK)
                return
            except zmq.Again:
                self._wait_for_control()

    def _wait_for_control(self) -> None:
        if self.control.poll(int(STATS_INTERVAL * 100)):
            self._poll_control()
        self._report(finished=False)

    def _poll_control(self) -> None:
        for frame in waiting(self.control):
            kind = frames.kind_of(frame)
            if kind == frames.CREDIT:
                credit = frames.unpack_stats(frame)
                self.taken[credit.worker] = credit.taken
            elif kind in (frames.STOP, frames.INTERRUPT):
                self.stopped = True

    def _report(self, finished: bool) -> None:
        now = time.monotonic()
        if not finished and now < self.next_stats:
            return
        self.next_stats = now + STATS_INTERVAL
        s = self.stream
        self.coordinator.send(frames.pack_stats(frames.FeederStats(
            s.lines, s.targets, s.malformed, s.blocked, s.total, finished)))


def run_feeder(cfg: ScanConfig, endpoints: Endpoints, stdin_fd: int, scanner_addr: int) -> None:
    Feeder(cfg, endpoints, stdin_fd, scanner_addr).run()


def print_targets(cfg: ScanConfig, out=sys.stdout) -> int:
    """--print-targets: the targets this run would scan, IP;PORT per line; sends nothing."""
    stream = TargetStream(cfg, address_policy(cfg), None)
    if cfg.mode == RANGES:
        items = range_items(range_scan(cfg, stream), stream)
    else:
        items = stream.checked(stream.parse(stream.counted(_lines_of(sys.stdin.buffer))))
    for item in items:
        if isinstance(item, SynAck):
            addr, port = item.saddr, item.sport
        else:
            addr, port = item.addr, item.port
        out.write(f"{format_addr(cfg.version, addr)};{port}\n")
    out.flush()
    return stream.malformed
