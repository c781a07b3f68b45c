"""Processes identified by (pid, start time), so a recycled pid is never taken for ours.

A pid alone is not an identity: after a process ends, the kernel hands its pid to a new one.
The start time (clock ticks since boot, field 22 of /proc/PID/stat) tells them apart. Rules,
socket directories and sim runs that outlive a killed process carry both numbers, and are
stale when `is_alive` says that process is gone.
"""
from __future__ import annotations

import os


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (field 3 onwards), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    return text[text.rindex(b")") + 2:].split()


def start_time(pid: int) -> int | None:
    """The start time of a process in clock ticks since boot, None if there is no such process."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def parent_pid(pid: int) -> int | None:
    """The parent of a process, None if there is no such process."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def descends_from(pid: int, ancestor: tuple[int, int]) -> bool:
    """`pid` is the process `ancestor` (pid, start time) or one of its descendants."""
    ancestor_pid, ancestor_start = ancestor
    seen = set()
    while pid is not None and pid > 0 and pid not in seen:
        if pid == ancestor_pid:
            return start_time(pid) == ancestor_start
        seen.add(pid)
        pid = parent_pid(pid)
    return False


def own_identity() -> tuple[int, int]:
    """(pid, start time) of the calling process."""
    pid = os.getpid()
    return pid, start_time(pid)


def is_alive(pid: int, start: int | None = None) -> bool:
    """`pid` runs (it is not a zombie) and, when `start` is given, is still the process that
    started then."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] == b"Z":
        return False
    return start is None or int(fields[19]) == start
