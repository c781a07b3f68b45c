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
import signal
import sys
import time
from dataclasses import dataclass

import zmq

from lzr import handshakes
from lzr.config import (
    EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, RANGES, ZMAP, ScanConfig, UsageError,
)
from lzr.runtime import frames, local_ipc, netpath, privileges
from lzr.runtime.checkpoints import Marks, write_atomically
from lzr.runtime.feeder import (InputError, TargetStream, address_policy, print_targets,
                                range_scan, run_feeder)
from lzr.runtime.kernel_tables import RouteError
from lzr.runtime.neighbours import NeighbourResolver
from lzr.runtime.netpath import SendPath
from lzr.runtime.owners import port_plan
from lzr.runtime.processes import Endpoints, child_main, pull, push
from lzr.runtime.receiver import run_receiver
from lzr.runtime.runfiles import ProgressMeter, RunFiles
from lzr.runtime.rstguard import RstGuard, RstGuardError
from lzr.runtime.sender import chunk_size, run_sender
from lzr.runtime.validation import Validation
from lzr.runtime.worker import run_worker
from lzr.runtime.writer import run_writer
from lzr.targets.ranges import RangeScan
from lzr.wire import format_addr

START_TIMEOUT = 15.0
PROGRESS_INTERVAL = 1.0
STOP_GRACE = 3.0
INTERRUPT_GRACE = 10.0      # the longest an interrupted scan waits for its last records
TARGET_BYTES = 2048         # memory a target in flight may take, with its connections
MIN_IN_FLIGHT = 10_000


# The frames that carry the figures of the one feeder, writer and receiver, and where they go.
_NEWEST_STATS = {frames.FEEDER_STATS: "feeder_stats", frames.WRITER_STATS: "writer_stats",
                 frames.RECEIVER_STATS: "receiver_stats"}


class ScanFailed(RuntimeError):
    """A process reported an error, or died; the scan stops."""


class Interrupted(Exception):
    """SIGINT or SIGTERM before the scan could act on it calmly: unwind, clean up, exit 130."""


STARTING, RUNNING, ENDING = "starting", "running", "ending"


class Signals:
    """SIGINT and SIGTERM, from the first moment of a scan to its last.

    The handler is installed before anything that needs cleaning up exists. While the scan
    starts, a signal unwinds it (`Interrupted`): every `finally` on the way runs, the RST
    guard's removal included. Once the coordinator runs, signals are only counted and it acts
    on them: the first Ctrl-C stops the sending, a second one or SIGTERM interrupts, a third
    exits at once. While the scan ends, signals are counted and nothing is cut short.
    """

    def __init__(self) -> None:
        self.phase = STARTING
        self.interrupts = 0         # SIGINTs
        self.terminated = False     # SIGTERM

    def install(self) -> dict:
        return {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    def _on_signal(self, signum, _frame) -> None:
        if signum == signal.SIGTERM:
            self.terminated = True
        else:
            self.interrupts += 1
        if self.phase == STARTING:
            self.phase = ENDING
            raise Interrupted

    @property
    def stop(self) -> bool:
        """Stop sending and drain (the first Ctrl-C)."""
        return self.interrupts > 0 or self.terminated

    @property
    def interrupt(self) -> bool:
        """End every target now with a record that says so (a second Ctrl-C, or SIGTERM)."""
        return self.interrupts > 1 or self.terminated

    @property
    def exit_now(self) -> bool:
        """Exit without waiting for anything (a third Ctrl-C, or one after SIGTERM)."""
        return self.interrupts > 2 or (self.terminated and self.interrupts > 0)


def run(cfg: ScanConfig) -> int:
    signals = Signals()
    previous = signals.install()
    try:
        if cfg.print_targets:
            print_targets(cfg)
            return EXIT_OK
        if os.geteuid() != 0:
            raise ScanFailed("raw sockets and the RST guard need root: run lzr as root (sudo lzr ...)")
        path = netpath.resolve(cfg)
        return _run_with_guard(cfg, path, signals)
    except Interrupted:
        print("lzr: interrupted while starting; nothing was left behind", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as err:
        print(f"lzr: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (ScanFailed, InputError, RstGuardError, RouteError, netpath.PathError,
            privileges.PrivilegeError, OSError) as err:
        print(f"lzr: {err}", file=sys.stderr)
        return EXIT_RUNTIME
    finally:
        signals.phase = ENDING
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class Plan:
    """What the processes of a scan are given, worked out before any of them starts."""

    path: SendPath
    syn_ports: range | None               # the stateless SYNs' local ports (lzr sends SYNs)
    worker_ports: list[range]             # each worker's ports for its engine's connections
    validation: Validation | None
    max_sent: int                         # the most bytes a first connection sends (receiver)
    max_in_flight: int                    # targets with engine state, all workers together
    scan: RangeScan | None = None         # range scans: this run's walk
    total: int = 0                        # range scans: targets in this run's slice
    blocked: int = 0                      # range scans: targets the do-not-scan rules left out


def make_plan(cfg: ScanConfig, path: SendPath) -> Plan:
    low, high = cfg.source_ports
    syn_ports, worker_ports = port_plan(low, high, cfg.workers, cfg.sends_syns)
    validation = Validation.fresh(cfg.version, syn_ports) if syn_ports else None
    widest = format_addr(cfg.version, (1 << (32 if cfg.version == 4 else 128)) - 1)
    max_sent = max(len(handshakes.get(name).probe(widest)) for name in cfg.handshakes)
    plan = Plan(path, syn_ports, worker_ports, validation, max_sent,
                cfg.max_in_flight or default_max_in_flight())
    if cfg.mode == RANGES:
        stream = TargetStream(cfg, address_policy(cfg), path.scanner_addr)
        plan.scan = range_scan(cfg, stream)
        plan.total, plan.blocked = stream.total, stream.blocked
    return plan


def default_max_in_flight() -> int:
    """A quarter of the memory available, at TARGET_BYTES a target in flight."""
    with open("/proc/meminfo") as fh:
        fields = dict(line.split(":", 1) for line in fh)
    available = int(fields["MemAvailable"].split()[0]) * 1024
    return max(MIN_IN_FLIGHT, available // 4 // TARGET_BYTES)


def _run_with_guard(cfg: ScanConfig, path: SendPath, signals: Signals) -> int:
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
    # Children give up root after their setup; they must still reach the scan's sockets.
    run_as = privileges.account(cfg.user)
    with local_ipc.private_directory(group=None if run_as.uid == 0 else run_as.gid) as directory:
        endpoints = Endpoints(directory)
        guard = None
        if cfg.guard_mode != "none":
            guard = RstGuard(cfg.guard_mode, format_addr(cfg.version, path.scanner_addr), cfg.version,
                             local_ports=range(low, high + 1),
                             announce_endpoint=endpoints.rst_guard_announce,
                             also_owns=plan.validation.owns_flow if plan.validation else None)
        try:
            if guard:
                guard.install()
            coordinator = Coordinator(cfg, plan, endpoints,
                                      guard.announce_endpoint if guard else None, signals, run_as)
            signals.phase = RUNNING
            return coordinator.run()
        finally:
            signals.phase = ENDING
            if guard:
                guard.remove()


class Coordinator:
    def __init__(self, cfg: ScanConfig, plan: Plan, endpoints: Endpoints,
                 announce_endpoint: str | None, signals: Signals,
                 run_as: privileges.Account | None = None) -> None:
        self.cfg = cfg
        self.plan = plan
        self.run_as = run_as
        self.path = plan.path
        self.endpoints = endpoints
        self.announce_endpoint = announce_endpoint
        self.started_at = time.time()
        self.signals = signals
        self.senders = cfg.senders if cfg.mode == RANGES else 0
        self.worker_stats: dict[int, frames.WorkerStats] = {}
        self.sender_stats: dict[int, frames.SenderStats] = {}
        self.feeder_stats: frames.FeederStats | None = None
        self.writer_stats = frames.WriterStats(0, 0, float("-inf"))
        self.receiver_stats = frames.ReceiverStats(0, 0, 0, 0, 0, False)
        self.summary: str | None = None
        self.marks = None
        if plan.scan is not None and cfg.checkpoint:
            _, begin, end = plan.scan.slice
            self.marks = Marks(plan.scan.checkpoint(), self.senders,
                               chunk_size(cfg.rate, self.senders), end - begin, cfg.timeout)
        self.meter = ProgressMeter(cfg, self.started_at)
        self.run_files = RunFiles(cfg, self.started_at)
        self.processes: dict[str, multiprocessing.Process] = {}

    # -- lifetime -------------------------------------------------------------------------------

    def run(self) -> int:
        self.ctx = zmq.Context()
        self.inbox = pull(self.ctx, self.endpoints.coordinator)
        # Workers give up the privilege to ask for ARP/NDP: the coordinator asks for them.
        resolver = (NeighbourResolver(self.path.interface, self.cfg.version,
                                      self.endpoints.neighbour_requests)
                    if self.path.dst_mac is None else None)
        try:
            self._start_workers()
            self._announce()        # after the guard and the capture are up: scripts may wait for it
            self._start_input()
            status = self._supervise()
            self._finish_run_files(status)
            return status
        finally:
            self._stop_all()
            if resolver:
                resolver.close()
            self.run_files.close()
            self.inbox.close(linger=0)
            self.ctx.term()

    def _spawn(self, role: str, target, *args) -> None:
        process = multiprocessing.get_context("fork").Process(
            target=child_main, name=f"lzr-{role}",
            args=(role, os.getpid(), self.endpoints.coordinator, self.cfg.debug,
                  self.cfg.cpuprofile, self.cfg.memprofile, target, *args),
            kwargs={"run_as": self.run_as})
        process.start()
        self.processes[role] = process

    def _start_workers(self) -> None:
        cfg, plan = self.cfg, self.plan
        low, high = cfg.source_ports
        self._spawn("writer", run_writer, cfg, self.endpoints, self.started_at, self.senders or 1)
        for index, ports in enumerate(plan.worker_ports):
            self._spawn(f"worker{index}", run_worker, cfg, index, ports, self.endpoints, self.path,
                        self.announce_endpoint, plan.validation, self.senders,
                        -(-plan.max_in_flight // cfg.workers))
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
            if self.signals.stop:
                raise Interrupted
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
        signals = self.signals
        next_progress = time.monotonic() + PROGRESS_INTERVAL
        stop_sent = interrupt_sent = capture_stopped = False
        give_up_at = float("inf")
        while True:
            self._receive(0.2)
            self._check_children()
            now = time.monotonic()
            if signals.stop and not stop_sent:
                self._tell_all(frames.STOP, "stopping: nothing new is sent; the targets in flight "
                               "end with their open connections (Ctrl-C again: end them now)")
                stop_sent = True
            if signals.interrupt and not interrupt_sent:
                self._tell_all(frames.INTERRUPT, "interrupted: every target in flight ends now "
                               "with a record that says so (Ctrl-C again: exit at once)")
                interrupt_sent = True
                give_up_at = now + INTERRUPT_GRACE
            if signals.exit_now or now > give_up_at:
                # No checkpoint now: records on their way to the writer are not written yet.
                # The last one saved (a second ago at most) stays.
                self._clear_progress()
                print("lzr: exiting now; the records written so far are complete", file=sys.stderr)
                return EXIT_INTERRUPTED
            if now >= next_progress:
                self._progress()
                if not interrupt_sent:
                    self._save_checkpoint()
                next_progress = now + PROGRESS_INTERVAL
            if not capture_stopped and self._workers_done():
                self._tell(self.endpoints.receiver_control, frames.STOP)   # its last counters
                capture_stopped = True
            if self._writer_done():
                break
        self._clear_progress()
        if not interrupt_sent:
            self._save_checkpoint()
        r = self.receiver_stats
        if self.cfg.debug:
            print(f"lzr: receiver: {r.frames} frames captured, {r.routed} passed to workers, "
                  f"{r.dropped} dropped (not ours, or from blocked sources), {r.forged} forged "
                  f"answers dropped, {r.capture_drops} dropped by the kernel", file=sys.stderr)
        if self.summary:
            print(self.summary, file=sys.stderr, end="" if self.summary.endswith("\n") else "\n")
        if r.capture_drops:
            print(f"lzr: warning: the kernel dropped {r.capture_drops} captured frames for lack "
                  "of room: answers may be missing; lower -rate", file=sys.stderr)
        return EXIT_INTERRUPTED if signals.stop else EXIT_OK

    def _workers_done(self) -> bool:
        return len(self.worker_stats) == self.cfg.workers and all(
            stats.done for stats in self.worker_stats.values())

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
            elif kind in _NEWEST_STATS:         # one process's figures: the newest count
                setattr(self, _NEWEST_STATS[kind], frames.unpack_stats(frame))
            elif kind in (frames.WORKER_STATS, frames.SENDER_STATS):    # one of several's
                stats = frames.unpack_stats(frame)
                by_index = self.worker_stats if kind == frames.WORKER_STATS else self.sender_stats
                by_index[stats[0]] = stats
            elif kind == frames.SENDER_MARKS:
                if self.marks is not None:
                    self.marks.add(*frames.unpack_sender_marks(frame))
            else:
                others.append(frame)

    def _save_checkpoint(self) -> None:
        """Write the newest checkpoint whose targets all have their final records written."""
        if self.marks is None:
            return
        checkpoint = self.marks.newest(self.writer_stats.finished_before)
        if checkpoint is not None:
            write_atomically(self.cfg.checkpoint, checkpoint.to_json() + "\n")

    def _check_children(self) -> None:
        for role, process in self.processes.items():
            if role != "writer" and process.exitcode not in (None, 0):
                self._receive(0.5)   # its FAILED message, if it managed to send one
                raise ScanFailed(f"the {role} process ended with status {process.exitcode}")

    def _tell_all(self, kind: int, message: str) -> None:
        """STOP or INTERRUPT to every process that sends or holds targets."""
        self._clear_progress()
        print(f"lzr: {message}", file=sys.stderr, flush=True)
        endpoints = [self.endpoints.sender_control(i) for i in range(self.senders)] + [
            self.endpoints.worker_control(i) for i in range(self.cfg.workers)]
        if self.cfg.mode != RANGES:
            endpoints.append(self.endpoints.feeder_control)
        for endpoint in endpoints:
            self._tell(endpoint, kind)

    def _tell(self, endpoint: str, kind: int) -> None:
        sock = push(self.ctx, endpoint)
        sock.send(frames.empty(kind))
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
        """The progress line's fields now: on stderr (unless --quiet) and in the status file."""
        progress = self.meter.sample(time.time(), self.worker_stats.values(), self._input_stats(),
                                     self.writer_stats.written, self.sender_stats.values(),
                                     self.receiver_stats.capture_drops)
        self.run_files.status(progress)
        if not self.cfg.quiet:
            end = "\r" if sys.stderr.isatty() else "\n"
            line = progress.line()
            print(f"\x1b[2K{line}" if end == "\r" else line, file=sys.stderr, end=end, flush=True)

    def _finish_run_files(self, status: int) -> None:
        final = self.meter.sample(time.time(), self.worker_stats.values(), self._input_stats(),
                                  self.writer_stats.written, self.sender_stats.values(),
                                  self.receiver_stats.capture_drops)
        self.run_files.finish(
            ended_at=time.time(), exit_status=status, progress=final, summary_text=self.summary,
            interface=self.path.interface, source_addr=self.path.scanner_addr,
            gateway_mac=self.path.dst_mac, receiver=self.receiver_stats, feeder=self._input_stats())

    def _input_stats(self) -> frames.FeederStats | None:
        """The feeder's statistics; for a range scan, the same figures from its senders."""
        if self.plan.scan is None:
            return self.feeder_stats
        senders = self.sender_stats.values()
        targets = sum(s.targets for s in senders)
        finished = len(self.sender_stats) == self.senders and all(s.done for s in senders)
        return frames.FeederStats(0, targets, 0, self.plan.blocked, self.plan.total, finished)

    def _clear_progress(self) -> None:
        if not self.cfg.quiet and sys.stderr.isatty():
            print("\x1b[2K", file=sys.stderr, end="\r", flush=True)

