"""Processes of the emulated network: stopped in order, and commands run inside a node's
network namespace.

Every process a run starts is recorded as (pid, start time) (lzr.runtime.process_identity)
and is only signalled while both still match, so a recycled pid is never hit.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time

from lzr.runtime.process_identity import is_alive

STOP_GRACE_SECONDS = 3.0


def stop_processes(processes: list[tuple[int, int | None]], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to all, SIGKILL to those still running after `grace` seconds.

    Each process is (pid, start time); a pid whose start time changed is someone else's now
    and is left alone.
    """
    running = [(pid, start) for pid, start in processes if is_alive(pid, start)]
    for pid, _ in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        for pid, _ in running:
            _reap(pid)
        running = [(pid, start) for pid, start in running if is_alive(pid, start)]
        time.sleep(0.02)
    for pid, _ in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _reap(pid, block=True)
    # A runner that had already exited on its own is a zombie until collected.
    for pid, _ in processes:
        _reap(pid)


def stop_process(proc: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM, then SIGKILL if it is still running after `grace` seconds; always reaped."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _reap(pid: int, block: bool = False) -> None:
    """Collect our own child's exit status (no-op for processes that are not our children)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0 if block else os.WNOHANG)


def in_namespace(pid: int, argv: list[str]) -> list[str]:
    """argv run in the network namespace of `pid`, with a /sys that shows that namespace.

    Like `ip netns exec`: a private mount namespace with sysfs mounted afresh, so tools that
    look up interfaces under /sys/class/net see the node's interfaces, not the root's.
    """
    return ["nsenter", "-t", str(pid), "-n", "--", "unshare", "--mount", "--propagation", "private", "--",
            "sh", "-c", 'mount -t sysfs sysfs /sys && exec "$@"', "sh", *argv]


def in_main_thread() -> bool:
    """Signal handlers can only be changed from the main thread."""
    return threading.current_thread() is threading.main_thread()
