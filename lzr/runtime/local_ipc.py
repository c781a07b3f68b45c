"""Local IPC that only the scan's own processes can use.

* **One private directory per scan**, `<temp dir>/lzr-scan-<pid>-<start>-<random>`, named after
  the process that made it (its pid and start time, lzr.runtime.process_identity) and created
  with mode 0700. Every ipc:// socket of the scan is a file in it, bound under umask 077, so
  other users cannot reach them. A run killed with SIGKILL leaves its directory behind; the
  next run removes every such directory whose process is gone.
* **Peers are checked before any frame is read.** Each process that binds a socket runs a
  ZeroMQ ZAP handler. libzmq hands it the connecting peer's credentials (SO_PEERCRED; the ZAP
  address of an ipc:// peer is `localhost:UID:GID:PID`), and the handler admits only the
  process that owns the socket's directory and its descendants. A refused peer's connection is
  closed during the handshake: none of its frames is delivered, so none is parsed.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
import weakref
from collections.abc import Iterator

import zmq

from lzr.runtime import process_identity

DIRECTORY_PREFIX = "lzr-scan-"
PRIVATE_UMASK = 0o077
ZAP_ENDPOINT = "inproc://zeromq.zap.01"     # where libzmq looks for a context's ZAP handler
ZAP_VERSION = b"1.0"

# Contexts that already run a ZAP handler thread (one per context, in each process).
_checked_contexts: weakref.WeakSet = weakref.WeakSet()
_checked_lock = threading.Lock()


def directory_owner(path: str) -> tuple[int, int | None] | None:
    """(pid, start time) of the process named in a private directory's name; None if the name
    is not one. The start time is None in names of older versions, which had only the pid."""
    name = os.path.basename(os.path.normpath(path))
    if not name.startswith(DIRECTORY_PREFIX):
        return None
    pid, _, rest = name[len(DIRECTORY_PREFIX):].partition("-")
    start = rest.partition("-")[0]
    if not (pid.isascii() and pid.isdigit()):
        return None
    return int(pid), int(start) if start.isascii() and start.isdigit() else None


def remove_stale_directories(base: str | None = None) -> list[str]:
    """Remove the private directories of runs whose process is gone; returns their paths.

    Only directories (not symlinks) owned by this user are touched.
    """
    base = base or tempfile.gettempdir()
    removed = []
    for name in os.listdir(base):
        path = os.path.join(base, name)
        owner = directory_owner(path)
        if owner is None or process_identity.is_alive(*owner):
            continue
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def make_private_directory(base: str | None = None) -> str:
    """Remove stale directories, then create this process's own (mode 0700); returns its path."""
    remove_stale_directories(base)
    pid, start = process_identity.own_identity()
    previous = os.umask(PRIVATE_UMASK)
    try:
        return tempfile.mkdtemp(prefix=f"{DIRECTORY_PREFIX}{pid}-{start}-", dir=base)
    finally:
        os.umask(previous)


@contextlib.contextmanager
def private_directory(base: str | None = None) -> Iterator[str]:
    """A private directory for the body's sockets, removed afterwards."""
    path = make_private_directory(base)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def bind(sock: zmq.Socket, endpoint: str) -> None:
    """Bind `sock` so that only the scan's processes may connect (see the module docstring).

    The owner is the process named by the endpoint's directory when it is a private directory,
    else the calling process.
    """
    owner = None
    if endpoint.startswith("ipc://"):
        owner = directory_owner(os.path.dirname(endpoint[len("ipc://"):]))
    if owner is None or owner[1] is None:
        owner = process_identity.own_identity()
    _ensure_peer_check(sock.context)
    sock.zap_domain = f"lzr {owner[0]} {owner[1]}".encode()
    previous = os.umask(PRIVATE_UMASK)
    try:
        sock.bind(endpoint)
    finally:
        os.umask(previous)


def peer_allowed(domain: bytes, address: bytes) -> bool:
    """The ZAP decision: `address` (`localhost:UID:GID:PID`) is the owner named in `domain`
    (`lzr PID START`) or one of its descendants."""
    try:
        tag, owner_pid, owner_start = domain.decode("ascii").split()
        pid = int(address.decode("ascii").rsplit(":", 1)[1])
    except (UnicodeDecodeError, ValueError, IndexError):
        return False
    return tag == "lzr" and process_identity.descends_from(pid, (int(owner_pid), int(owner_start)))


def _ensure_peer_check(ctx: zmq.Context) -> None:
    with _checked_lock:
        if ctx in _checked_contexts:
            return
        handler = ctx.socket(zmq.REP)
        handler.linger = 0
        handler.bind(ZAP_ENDPOINT)
        _checked_contexts.add(ctx)
    threading.Thread(target=_serve_zap, args=(handler,), name="lzr-peer-check", daemon=True).start()


def _serve_zap(handler: zmq.Socket) -> None:
    """Answer ZAP requests until the context is terminated."""
    try:
        while True:
            request = handler.recv_multipart()
            request_id = request[1] if len(request) > 1 else b""
            allowed = (len(request) >= 4 and request[0] == ZAP_VERSION
                       and peer_allowed(request[2], request[3]))
            status = [b"200", b"OK"] if allowed else [b"400", b"not a process of this scan"]
            handler.send_multipart([ZAP_VERSION, request_id, *status, b"", b""])
    except zmq.ContextTerminated:
        pass
    finally:
        handler.close(linger=0)
