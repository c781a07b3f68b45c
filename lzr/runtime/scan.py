"""The coordinator: one scan from validated config to summary.

It resolves where frames go and plans the scan (local ports, the validation secret, a range
scan's walk), installs the RST guard, starts the processes (writer, K workers, receiver, then
the senders or the feeder once the others are listening), prints the progress line, writes
checkpoints, and ends the scan: normally when every worker has finished (input over, no
answer still able to come, nothing in flight) and the writer has written everything; after a
first Ctrl-C by stopping the sending at once and then draining the same way; after a second
Ctrl-C or SIGTERM at once. The RST guard and the private socket directory are removed on
every one of these paths.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass

import zmq

from lzr import handshakes
from lzr.config import RANGES, ZMAP, ScanConfig, UsageError
from lzr.runtime import frames, netpath
from lzr.runtime.checkpoints import Marks, write_atomically
from lzr.runtime.feeder import (InputError, TargetStream, address_policy, print_targets,
                                range_scan, run_feeder)
from lzr.runtime.netpath import SendPath
from lzr.runtime.owners import port_plan
from lzr.runtime.processes import Endpoints, child_main, pull, push
from lzr.runtime.receiver import run_receiver
from lzr.runtime.routes import RouteError
from lzr.runtime.rstguard import RstGuard, RstGuardError
from lzr.runtime.sender import chunk_size, run_sender
from lzr.runtime.validation import Validation
from lzr.runtime.worker import run_worker
from lzr.runtime.writer import run_writer
from lzr.targets.ranges import RangeScan
from lzr.wire import format_addr

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
START_TIMEOUT = 15.0
PROGRESS_INTERVAL = 1.0
STOP_GRACE = 3.0


SOCKET_DIR_PREFIX = "lzr-scan-"      # + the coordinator's pid: its ZeroMQ ipc:// sockets


def _remove_stale_socket_dirs() -> None:
    """Socket directories of runs that were killed (SIGKILL leaves them)."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if not name.startswith(SOCKET_DIR_PREFIX):
            continue
        pid = name[len(SOCKET_DIR_PREFIX):].partition("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


class ScanFailed(RuntimeError):
    """A process reported an error, or died; the scan stops."""


def run(cfg: ScanConfig) -> int:
    try:
        if cfg.print_targets:
            print_targets(cfg)
            return EXIT_OK
        if os.geteuid() != 0:
            raise ScanFailed("raw sockets and the RST guard need root: run lzr as root (sudo lzr ...)")
        path = netpath.resolve(cfg)
        return _run_with_guard(cfg, path)
    except UsageError as err:
        print(f"lzr: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (ScanFailed, InputError, RstGuardError, RouteError, netpath.PathError, OSError) as err:
        print(f"lzr: {err}", file=sys.stderr)
        return EXIT_RUNTIME


@dataclass
class Plan:
    """What the processes of a scan are given, worked out before any of them starts."""

    path: SendPath
    syn_ports: range | None               # the stateless SYNs' local ports (lzr sends SYNs)
    worker_ports: list[range]             # each worker's ports for its engine's connections
    validation: Validation | None
    scan: RangeScan | None = None         # range scans: this run's walk
    total: int = 0                        # range scans: targets in this run's slice
    max_sent: int = 0                     # the most bytes a first connection sends (receiver)


def make_plan(cfg: ScanConfig, path: SendPath) -> Plan:
    low, high = cfg.source_ports
    syn_ports, worker_ports = port_plan(low, high, cfg.workers, cfg.sends_syns)
    validation = Validation.fresh(cfg.version, syn_ports) if syn_ports else None
    widest = format_addr(cfg.version, (1 << (32 if cfg.version == 4 else 128)) - 1)
    max_sent = max(len(handshakes.get(name).probe(widest)) for name in cfg.handshakes)
    plan = Plan(path, syn_ports, worker_ports, validation, max_sent=max_sent)
    if cfg.mode == RANGES:
        stream = TargetStream(cfg, address_policy(cfg), path.scanner_addr)
        plan.scan = range_scan(cfg, stream)
        plan.total = stream.total
    return plan


def _run_with_guard(cfg: ScanConfig, path: SendPath) -> int:
    # A bad list file, checkpoint or unwritable output fails here, before any rule or process.
    address_policy(cfg)
    plan = make_plan(cfg, path)
    if cfg.output != "-":
        try:
            with open(cfg.output, "a"):
                pass
        except OSError as err:
            raise ScanFailed(f"-f {cfg.output}: {err.strerror}") from None
    low, high = cfg.source_ports
    guard = None
    if cfg.guard_mode != "none":
        guard = RstGuard(cfg.guard_mode, format_addr(cfg.version, path.scanner_addr), cfg.version,
                         local_ports=range(low, high + 1),
                         also_owns=plan.validation.owns_flow if plan.validation else None)
    _remove_stale_socket_dirs()
    with tempfile.TemporaryDirectory(prefix=f"{SOCKET_DIR_PREFIX}{os.getpid()}-") as directory:
        try:
            if guard:
                guard.install()
            return Coordinator(cfg, plan, Endpoints(directory),
                               guard.announce_endpoint if guard else None).run()
        finally:
            if guard:
                guard.remove()


class Coordinator:
    def __init__(self, cfg: ScanConfig, plan: Plan, endpoints: Endpoints,
                 announce_endpoint: str | None) -> None:
        self.cfg = cfg
        self.plan = plan
        self.path = plan.path
        self.endpoints = endpoints
        self.announce_endpoint = announce_endpoint
        self.started_at = time.time()
        self.started_monotonic = time.monotonic()
        self.interrupts = 0
        self.terminated = False
        self.senders = cfg.senders if cfg.mode == RANGES else 0
        self.worker_stats: dict[int, frames.WorkerStats] = {}
        self.sender_stats: dict[int, frames.SenderStats] = {}
        self.feeder_stats: frames.FeederStats | None = None
        self.writer_stats = frames.WriterStats(0, 0)
        self.receiver_stats = frames.ReceiverStats(0, 0, 0, 0)
        self.summary: str | None = None
        self.marks = None
        if plan.scan is not None and cfg.checkpoint:
            _, begin, end = plan.scan.slice
            self.marks = Marks(plan.scan.checkpoint(), self.senders,
                               chunk_size(cfg.rate, self.senders), end - begin, cfg.timeout)
        self.last_progress = (self.started_monotonic, 0)   # (time, packets sent) at the last line
        self.processes: dict[str, multiprocessing.Process] = {}

    # -- lifetime -------------------------------------------------------------------------------

    def run(self) -> int:
        self.ctx = zmq.Context()
        self.inbox = pull(self.ctx, self.endpoints.coordinator)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._start_workers()
            self._announce()        # after the guard and the capture are up: scripts may wait for it
            self._start_input()
            return self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop_all()
            self.inbox.close(linger=0)
            self.ctx.term()

    def _spawn(self, role: str, target, *args) -> None:
        process = multiprocessing.get_context("fork").Process(
            target=child_main, name=f"lzr-{role}",
            args=(role, os.getpid(), self.endpoints.coordinator, self.cfg.debug,
                  self.cfg.cpuprofile, self.cfg.memprofile, target, *args))
        process.start()
        self.processes[role] = process

    def _start_workers(self) -> None:
        cfg, plan = self.cfg, self.plan
        low, high = cfg.source_ports
        self._spawn("writer", run_writer, cfg, self.endpoints, self.started_at,
                    self.senders or 1)
        for index, ports in enumerate(plan.worker_ports):
            self._spawn(f"worker{index}", run_worker, cfg, index, ports, self.endpoints, self.path,
                        self.announce_endpoint, plan.validation, self.senders)
        policy = address_policy(cfg)
        # In ZMap mode the first handshake uses ZMap's source port, which can be any.
        accepted_ports = None if cfg.mode == ZMAP else range(low, high + 1)
        self._spawn("receiver", run_receiver, self.path.interface, cfg.version,
                    self.path.scanner_addr, accepted_ports, cfg.workers, self.endpoints,
                    lambda addr: policy.is_allowed(cfg.version, addr), plan.validation,
                    plan.max_sent)
        waiting = {frames.READY_RECEIVER, *range(cfg.workers)}
        deadline = time.monotonic() + START_TIMEOUT
        while waiting:
            if time.monotonic() > deadline:
                raise ScanFailed("processes did not start in time")
            if self.terminated:
                raise ScanFailed("interrupted while starting")
            for frame in self._receive(0.2):
                if frames.kind_of(frame) == frames.READY:
                    waiting.discard(frames.unpack_stats(frame).role)
            self._check_children()

    def _start_input(self) -> None:
        """The senders of a range scan, or the feeder that reads stdin."""
        if self.cfg.mode == RANGES:
            for index in range(self.senders):
                self._spawn(f"sender{index}", run_sender, self.cfg, index, self.senders,
                            self.endpoints, self.path, self.plan.validation, self.plan.scan)
            return
        # multiprocessing closes stdin in its children; the feeder reads a duplicate.
        stdin_fd = os.dup(sys.stdin.fileno())
        try:
            self._spawn("feeder", run_feeder, self.cfg, self.endpoints, stdin_fd,
                        self.path.scanner_addr)
        finally:
            os.close(stdin_fd)

    def _supervise(self) -> int:
        next_progress = time.monotonic() + PROGRESS_INTERVAL
        stop_sent = False
        while True:
            self._receive(0.2)
            self._check_children()
            if self.interrupts and not stop_sent:
                self._send_stop()
                stop_sent = True
            if self.terminated:
                # No checkpoint now: records on their way to the writer would be counted as
                # written. The last one saved (a second ago at most) stays.
                self._clear_progress()
                print("lzr: exiting now; the records written so far are complete", file=sys.stderr)
                return EXIT_INTERRUPTED
            now = time.monotonic()
            if now >= next_progress:
                self._progress()
                self._save_checkpoint()
                next_progress = now + PROGRESS_INTERVAL
            if self._writer_done():
                break
        self._clear_progress()
        self._save_checkpoint()
        if self.cfg.debug:
            r = self.receiver_stats
            print(f"lzr: receiver: {r.frames} frames captured, {r.routed} passed to workers, "
                  f"{r.dropped} dropped (not ours, or from blocked sources), {r.forged} forged "
                  "answers dropped", file=sys.stderr)
        if self.summary:
            print(self.summary, file=sys.stderr, end="" if self.summary.endswith("\n") else "\n")
        return EXIT_INTERRUPTED if self.interrupts else EXIT_OK

    def _writer_done(self) -> bool:
        writer = self.processes["writer"]
        if writer.is_alive():
            return False
        writer.join()
        if writer.exitcode != 0:
            raise ScanFailed(f"the writer ended with status {writer.exitcode}")
        self._receive(0)    # its SUMMARY frame
        return True

    def _stop_all(self) -> None:
        """End every child that still runs: SIGTERM (the writer then stops between whole lines),
        and SIGKILL for any that has not ended a few seconds later."""
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for process in self.processes.values():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()

    # -- messages and signals ---------------------------------------------------------------------

    def _receive(self, timeout: float) -> list[bytes]:
        """Take every waiting message; returns those the caller may want (READY)."""
        others = []
        if not self.inbox.poll(int(timeout * 1000)):
            return others
        while True:
            try:
                frame = self.inbox.recv(zmq.NOBLOCK)
            except zmq.Again:
                return others
            kind = frames.kind_of(frame)
            if kind == frames.FAILED:
                raise ScanFailed(frames.unpack_text(frame))
            if kind == frames.SUMMARY:
                self.summary = frames.unpack_text(frame)
            elif kind == frames.WORKER_STATS:
                stats = frames.unpack_stats(frame)
                self.worker_stats[stats.worker] = stats
            elif kind == frames.FEEDER_STATS:
                self.feeder_stats = frames.unpack_stats(frame)
            elif kind == frames.WRITER_STATS:
                self.writer_stats = frames.unpack_stats(frame)
            elif kind == frames.RECEIVER_STATS:
                self.receiver_stats = frames.unpack_stats(frame)
            elif kind == frames.SENDER_STATS:
                stats = frames.unpack_stats(frame)
                self.sender_stats[stats.sender] = stats
            elif kind == frames.SENDER_MARKS:
                if self.marks is not None:
                    self.marks.add(*frames.unpack_sender_marks(frame))
            else:
                others.append(frame)

    def _save_checkpoint(self) -> None:
        """Write the newest checkpoint whose targets all have their final records."""
        if self.marks is None or len(self.worker_stats) < self.cfg.workers:
            return
        finished_before = min(stats.finished_before for stats in self.worker_stats.values())
        checkpoint = self.marks.newest(finished_before)
        if checkpoint is not None:
            write_atomically(self.cfg.checkpoint, checkpoint.to_json() + "\n")

    def _check_children(self) -> None:
        for role, process in self.processes.items():
            if role != "writer" and process.exitcode not in (None, 0):
                self._receive(0.5)   # its FAILED message, if it managed to send one
                raise ScanFailed(f"the {role} process ended with status {process.exitcode}")

    def _on_signal(self, signum, _frame) -> None:
        if signum == signal.SIGTERM or self.interrupts:
            self.terminated = True
        else:
            self.interrupts += 1

    def _send_stop(self) -> None:
        self._clear_progress()
        print("lzr: stopping: no new targets; finishing those in flight (Ctrl-C again to exit now)",
              file=sys.stderr, flush=True)
        endpoints = [self.endpoints.sender_control(i) for i in range(self.senders)] + [
            self.endpoints.worker_control(i) for i in range(self.cfg.workers)]
        if self.cfg.mode != RANGES:
            endpoints.append(self.endpoints.feeder_control)
        for endpoint in endpoints:
            sock = push(self.ctx, endpoint)
            sock.send(frames.empty(frames.STOP))
            sock.close(linger=1000)

    # -- what the user sees -----------------------------------------------------------------------

    def _announce(self) -> None:
        cfg = self.cfg
        if cfg.quiet:
            return
        mac = self.path.dst_mac.hex(":") if self.path.dst_mac else "per target (directly connected)"
        lines = [
            f"++Writing results to file: {'stdout' if cfg.output == '-' else cfg.output}",
            f"++Handshakes: {','.join(cfg.handshakes)}",
            f"++Worker processes: {cfg.workers}" + (
                f", sender processes: {self.senders}" if self.senders else ""),
            f"++Timeout Interval (s): {cfg.timeout:g}",
            f"++Cooldown after completing (s): {cfg.cooldown:g}",
            f"++Retransmit Interval (s): {cfg.retransmit_after:g}",
            f"++Number of Retransmitions: {cfg.retries}",
            f"++Interface: {self.path.interface}, "
            f"source {format_addr(cfg.version, self.path.scanner_addr)}, next hop MAC {mac}",
            f"++RST guard: {cfg.guard_mode}",
        ]
        if cfg.sends_syns:
            lines.append(f"++Rate (new targets/s): {cfg.rate}")
        print("\n".join(lines), file=sys.stderr, flush=True)

    def _progress(self) -> None:
        if self.cfg.quiet:
            return
        workers, senders = self.worker_stats.values(), self.sender_stats.values()
        sent = sum(s.sent for s in workers) + sum(s.packets for s in senders)
        targets = sum(s.admitted for s in workers) + sum(s.targets for s in senders)
        now = time.monotonic()
        elapsed = now - self.started_monotonic
        # Packets per second over the last interval, not since the start.
        last_time, last_sent = self.last_progress
        rate = (sent - last_sent) / (now - last_time) if now > last_time else 0.0
        self.last_progress = (now, sent)
        line = (f"{_clock(elapsed)} sent {sent} ({rate:,.0f} pps); targets {targets}; "
                f"answered {sum(s.answered for s in workers)}; "
                f"SYN-ACKs {sum(s.synacks for s in workers)}; "
                f"data {sum(s.data for s in workers)}; "
                f"identified {sum(s.identified for s in workers)}; "
                f"in flight {sum(s.in_flight for s in workers)}; "
                f"written {self.writer_stats.written}; ETA {self._eta(targets, elapsed)}")
        end = "\r" if sys.stderr.isatty() else "\n"
        print(f"\x1b[2K{line}" if end == "\r" else line, file=sys.stderr, end=end, flush=True)

    def _eta(self, targets: int, elapsed: float) -> str:
        feeder = self.feeder_stats
        if self.plan.scan is not None:
            total = self.plan.total
        elif feeder is not None and feeder.finished:
            total = feeder.targets
        else:
            return "?"
        remaining = max(0, total - targets)
        pace = min(self.cfg.rate, targets / elapsed) if targets and elapsed > 0 else self.cfg.rate
        cooldown = self.cfg.cooldown if self.cfg.waits_cooldown else 0.0
        tail = self.cfg.timeout * (self.cfg.retries + 1) + cooldown
        return _clock(remaining / pace + tail) if pace > 0 else "?"

    def _clear_progress(self) -> None:
        if not self.cfg.quiet and sys.stderr.isatty():
            print("\x1b[2K", file=sys.stderr, end="\r", flush=True)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
