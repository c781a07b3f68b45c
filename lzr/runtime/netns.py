"""Joining a network namespace from Python 3.11 (os.setns is 3.12+).

A thread that joins a namespace makes its sockets there; the sockets keep that namespace
when used from other threads later.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]


def namespace_path(netns: str | int) -> str:
    """A namespace file for a name from `ip netns`, a pid (its namespace), or a path."""
    if isinstance(netns, int):
        return f"/proc/{netns}/ns/net"
    return netns if "/" in netns else f"/var/run/netns/{netns}"


def enter_netns(netns: str | int) -> None:
    """Move the calling thread into the namespace for good."""
    path = namespace_path(netns)
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns {path}: {os.strerror(error)}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def inside_netns(netns: str | int) -> Iterator[None]:
    """Run the body in the namespace (this thread only), then return to the thread's own."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        enter_netns(netns)
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back into the thread's own namespace")
    finally:
        os.close(own)
