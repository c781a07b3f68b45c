"""Processes of the emulated network: identified by (pid, start time), stopped in order, and
commands run inside a node's network namespace.

A pid alone is not an identity: once a process exits its pid can be given to another one.
Every process a run starts is recorded with the kernel's start time, and is only signalled
while both still match, so a recycled pid is never hit.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

STOP_GRACE_SECONDS = 3.0


def process_start(pid: int) -> int | None:
    """The kernel's start time of `pid` (clock ticks since boot), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may contain spaces, so split after its ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_alive(pid: int, start: int | None) -> bool:
    """`pid` runs (not a zombie) and, when `start` is given, is still the process we recorded."""
    current = process_start(pid)
    return current is not None and (start is None or current == start) and not _is_zombie(pid)


def stop_processes(processes: list[tuple[int, int | None]], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to all, SIGKILL to those still running after `grace` seconds.

    Each process is (pid, start time); a pid whose start time changed is someone else's now
    and is left alone.
    """
    running = [(pid, start) for pid, start in processes if process_alive(pid, start)]
    for pid, _ in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        for pid, _ in running:
            _reap(pid)
        running = [(pid, start) for pid, start in running if process_alive(pid, start)]
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


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


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
