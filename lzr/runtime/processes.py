"""What every process of a scan shares: its ZeroMQ endpoints and how a child process starts.

All endpoints are ipc:// sockets in one private directory that the coordinator creates and
removes, and every bound socket admits only the scan's own processes (lzr.runtime.local_ipc). Children ignore SIGINT: Ctrl-C reaches the whole process
group, and only the coordinator decides what it means (stop sending, drain, then exit).

A child starts as root. Once it holds its raw sockets and files, and has bound its sockets (the
directory admits no new file from --user), it calls `end_of_setup()`, and from then on runs as
the scan's --user with no capabilities (lzr.runtime.privileges).
"""
from __future__ import annotations

import cProfile
import ctypes
import ctypes.util
import faulthandler
import os
import signal
import sys
import traceback
import tracemalloc
from dataclasses import dataclass

import zmq

from lzr.runtime import frames, local_ipc, privileges


@dataclass(frozen=True)
class Endpoints:
    directory: str

    def _ipc(self, name: str) -> str:
        return f"ipc://{self.directory}/{name}"

    @property
    def coordinator(self) -> str:
        return self._ipc("coordinator")

    @property
    def writer(self) -> str:
        return self._ipc("writer")

    @property
    def feeder_control(self) -> str:
        return self._ipc("feeder-control")

    def worker_targets(self, index: int) -> str:
        return self._ipc(f"worker{index}-targets")

    def worker_packets(self, index: int) -> str:
        return self._ipc(f"worker{index}-packets")

    def worker_control(self, index: int) -> str:
        return self._ipc(f"worker{index}-control")

    def sender_control(self, index: int) -> str:
        return self._ipc(f"sender{index}-control")

    @property
    def receiver_control(self) -> str:
        return self._ipc("receiver-control")

    @property
    def neighbour_requests(self) -> str:
        """Where workers ask the coordinator to resolve the MACs of directly connected targets."""
        return self._ipc("neighbour-requests")

    @property
    def rst_guard_announce(self) -> str:
        """Where the workers announce their flows to the nfqueue RST guard."""
        return self._ipc("rstguard-announce")


PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
LINGER_MS = 5000     # a closing socket delivers what it queued, unless the peer is gone


def push(ctx: zmq.Context, endpoint: str, hwm: int = 0) -> zmq.Socket:
    """A PUSH socket connected to `endpoint`; `hwm` 0 means unbounded."""
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.LINGER, LINGER_MS)
    sock.connect(endpoint)
    return sock


def pull(ctx: zmq.Context, endpoint: str, hwm: int = 0) -> zmq.Socket:
    sock = ctx.socket(zmq.PULL)
    sock.setsockopt(zmq.RCVHWM, hwm)
    local_ipc.bind(sock, endpoint)
    return sock


def waiting(sock: zmq.Socket):
    """Every frame already queued on `sock`, without blocking."""
    while True:
        try:
            yield sock.recv(zmq.NOBLOCK)
        except zmq.Again:
            return


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(0)


# Set by child_main: the user this child becomes at end_of_setup(), and its parent.
_run_as: privileges.Account | None = None
_parent_pid = 0


def end_of_setup() -> None:
    """A child calls this once it holds every privileged resource it needs (raw sockets, the
    files it was told to read or write, its bound sockets): from here on it runs as the scan's
    --user, with no capabilities. Without a user to become (the coordinator, tests) it does
    nothing."""
    if _run_as is None:
        return
    privileges.drop_to(_run_as)
    if os.getppid() != _parent_pid:      # the coordinator died while the death signal was off
        os._exit(1)


def child_main(role: str, parent_pid: int, coordinator_endpoint: str, debug: bool,
               cpuprofile: str | None, memprofile: str | None, target, *args,
               run_as: privileges.Account | None = None) -> None:
    """Body of every child process: run `target(*args)`, report a failure to the coordinator.

    `run_as`: the user `end_of_setup()` makes this process (None: it stays as it is)."""
    global _run_as, _parent_pid
    _run_as, _parent_pid = run_as, parent_pid
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The coordinator ends the feeder and the receiver with SIGTERM; leaving through
    # SystemExit lets the profiles below be written.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    # Die with the coordinator: a child of a killed scan must not keep sending.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)
    faulthandler.register(signal.SIGUSR1)    # `kill -USR1 PID` prints where a process is stuck
    profiler = cProfile.Profile() if cpuprofile else None
    if memprofile:
        tracemalloc.start()
    status = 0
    try:
        if profiler:
            profiler.enable()
        target(*args)
    except Exception as err:  # reported, then this process ends with status 1
        status = 1
        detail = "".join(traceback.format_exception_only(err)).strip()
        ctx = zmq.Context()
        sock = push(ctx, coordinator_endpoint)
        sock.send(frames.pack_text(frames.FAILED, f"{role}: {detail}"))
        sock.close(linger=1000)
        ctx.term()      # returns once the message is out (or after the linger)
        if debug:
            traceback.print_exc(file=sys.stderr)
    finally:
        try:
            if profiler:
                profiler.disable()
                profiler.dump_stats(f"{cpuprofile}.{role}")
            if memprofile:
                top = tracemalloc.take_snapshot().statistics("lineno")[:50]
                with open(f"{memprofile}.{role}", "w") as fh:
                    fh.writelines(f"{stat}\n" for stat in top)
        except OSError as err:      # e.g. a directory the unprivileged user may not write
            print(f"lzr: {role}: cannot write its profile: {err}", file=sys.stderr)
        # Here, not after the try: after a SIGTERM the SystemExit still holds target's frame,
        # whose ZeroMQ context would otherwise be collected and wait out its linger for peers
        # that have ended (the coordinator then killed the receiver after its stop grace).
        sys.stdout.flush()
        os._exit(status)
