"""The coordinator: one scan from validated config to summary.

It resolves where frames go, installs the RST guard, starts the processes (writer, K workers,
receiver, then the feeder once the others are listening), prints the progress line, and ends
the scan: normally when every worker has finished (input over, any cooldown passed, nothing
in flight) and the writer has written everything; after a first Ctrl-C by stopping the feeder
and new admissions and then draining the same way; after a second Ctrl-C or SIGTERM at once.
The RST guard and the private socket directory are removed on every one of these paths.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time

import zmq

from lzr.config import RANGES, ZMAP, ScanConfig, UsageError
from lzr.runtime import frames, local_ipc, netpath, privileges
from lzr.runtime.neighbours import NeighbourResolver
from lzr.runtime.feeder import InputError, address_policy, print_targets, run_feeder
from lzr.runtime.netpath import SendPath
from lzr.runtime.processes import Endpoints, child_main, pull, push
from lzr.runtime.receiver import run_receiver
from lzr.runtime.kernel_tables import RouteError
from lzr.runtime.runfiles import ProgressMeter, RunFiles
from lzr.runtime.rstguard import RstGuard, RstGuardError
from lzr.runtime.worker import run_worker
from lzr.runtime.owners import port_slices
from lzr.runtime.writer import run_writer
from lzr.wire import format_addr

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
START_TIMEOUT = 15.0
PROGRESS_INTERVAL = 1.0
STOP_GRACE = 3.0


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
    except (ScanFailed, InputError, RstGuardError, RouteError, netpath.PathError,
            privileges.PrivilegeError, OSError) as err:
        print(f"lzr: {err}", file=sys.stderr)
        return EXIT_RUNTIME


def _run_with_guard(cfg: ScanConfig, path: SendPath) -> int:
    # A bad list file or an unwritable output fails here, before any rule or process exists.
    address_policy(cfg)
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
                             announce_endpoint=endpoints.rst_guard_announce)
        try:
            if guard:
                guard.install()
            return Coordinator(cfg, path, endpoints,
                               guard.announce_endpoint if guard else None, run_as).run()
        finally:
            if guard:
                guard.remove()


class Coordinator:
    def __init__(self, cfg: ScanConfig, path: SendPath, endpoints: Endpoints,
                 announce_endpoint: str | None, run_as: privileges.Account | None = None) -> None:
        self.cfg = cfg
        self.run_as = run_as
        self.path = path
        self.endpoints = endpoints
        self.announce_endpoint = announce_endpoint
        self.started_at = time.time()
        self.interrupts = 0
        self.terminated = False
        self.worker_stats: dict[int, frames.WorkerStats] = {}
        self.feeder_stats: frames.FeederStats | None = None
        self.writer_stats = frames.WriterStats(0, 0)
        self.receiver_stats = frames.ReceiverStats(0, 0, 0)
        self.summary: str | None = None
        self.marks: list[frames.CheckpointMark] = []
        self.meter = ProgressMeter(cfg, self.started_at)
        self.run_files = RunFiles(cfg, self.started_at)
        self.processes: dict[str, multiprocessing.Process] = {}

    # -- lifetime -------------------------------------------------------------------------------

    def run(self) -> int:
        self.ctx = zmq.Context()
        self.inbox = pull(self.ctx, self.endpoints.coordinator)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        # Workers give up the privilege to ask for ARP/NDP: the coordinator asks for them.
        resolver = (NeighbourResolver(self.path.interface, self.cfg.version,
                                      self.endpoints.neighbour_requests)
                    if self.path.dst_mac is None else None)
        try:
            self._start_workers()
            self._announce()        # after the guard and the capture are up: scripts may wait for it
            self._start_feeder()
            status = self._supervise()
            self._finish_run_files(status)
            return status
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
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
        cfg = self.cfg
        low, high = cfg.source_ports
        slices = port_slices(low, high, cfg.workers)
        self._spawn("writer", run_writer, cfg, self.endpoints, self.started_at)
        for index, ports in enumerate(slices):
            self._spawn(f"worker{index}", run_worker, cfg, index, ports, self.endpoints, self.path,
                        self.announce_endpoint)
        policy = address_policy(cfg)
        # In ZMap mode the first handshake uses ZMap's source port, which can be any.
        accepted_ports = None if cfg.mode == ZMAP else range(low, high + 1)
        self._spawn("receiver", run_receiver, self.path.interface, cfg.version,
                    self.path.scanner_addr, accepted_ports, cfg.workers, self.endpoints,
                    lambda addr: policy.is_allowed(cfg.version, addr))
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

    def _start_feeder(self) -> None:
        # multiprocessing closes stdin in its children; the feeder reads a duplicate.
        stdin_fd = -1 if self.cfg.mode == RANGES else os.dup(sys.stdin.fileno())
        try:
            self._spawn("feeder", run_feeder, self.cfg, self.endpoints, stdin_fd,
                        self.path.scanner_addr)
        finally:
            if stdin_fd >= 0:
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
                  f"{r.dropped} dropped (not ours, or from blocked sources)", file=sys.stderr)
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
            elif kind == frames.CHECKPOINT_MARK:
                self.marks.append(frames.unpack_checkpoint_mark(frame))
            else:
                others.append(frame)

    def _save_checkpoint(self) -> None:
        """Write the newest mark whose targets all have their records (range scans)."""
        if not self.cfg.checkpoint or not self.marks:
            return
        finished = [self.worker_stats[k].finished_below if k in self.worker_stats else 0
                    for k in range(self.cfg.workers)]
        for position in range(len(self.marks) - 1, -1, -1):
            mark = self.marks[position]
            if all(sent <= done for sent, done in zip(mark.sent, finished)):
                temporary = f"{self.cfg.checkpoint}.tmp"
                with open(temporary, "w") as fh:
                    fh.write(mark.checkpoint + "\n")
                os.replace(temporary, self.cfg.checkpoint)
                del self.marks[:position]
                return

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
        endpoints = [self.endpoints.feeder_control] + [
            self.endpoints.worker_control(i) for i in range(self.cfg.workers)]
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
            f"++Worker processes: {cfg.workers}",
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
        progress = self.meter.sample(time.time(), self.worker_stats.values(), self.feeder_stats,
                                     self.writer_stats.written)
        self.run_files.status(progress)
        if not self.cfg.quiet:
            end = "\r" if sys.stderr.isatty() else "\n"
            line = progress.line()
            print(f"\x1b[2K{line}" if end == "\r" else line, file=sys.stderr, end=end, flush=True)

    def _finish_run_files(self, status: int) -> None:
        final = self.meter.sample(time.time(), self.worker_stats.values(), self.feeder_stats,
                                  self.writer_stats.written)
        self.run_files.finish(
            ended_at=time.time(), exit_status=status, progress=final, summary_text=self.summary,
            interface=self.path.interface, source_addr=self.path.scanner_addr,
            gateway_mac=self.path.dst_mac, receiver=self.receiver_stats, feeder=self.feeder_stats)

    def _clear_progress(self) -> None:
        if not self.cfg.quiet and sys.stderr.isatty():
            print("\x1b[2K", file=sys.stderr, end="\r", flush=True)

