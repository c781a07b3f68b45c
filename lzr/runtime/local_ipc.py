"""Local IPC that only the scan's own processes can use.

* **One private directory per scan**, `<temp dir>/lzr-scan-<pid>-<start>-<random>`, named after
  the process that made it (its pid and start time, lzr.runtime.process_identity). It belongs
  to root with mode 0700; when the children give up root (lzr.runtime.privileges) its group is
  the --user's group and its mode 0710, so they can still reach the sockets in it but nobody
  except root can create, remove or replace a file there. Every ipc:// socket of the scan is a
  file in it, bound before any process gives up root, under umask 077 (mode 0770 and the
  directory's group in the second case). Other users cannot reach the sockets. A run killed
  with SIGKILL leaves its directory behind; the next run removes every such directory whose
  process is gone.
* **A bound socket checks each peer before it reads a frame.** Each process that binds runs a
  ZeroMQ ZAP handler. libzmq hands it the connecting peer's credentials (SO_PEERCRED; the ZAP
  address of an ipc:// peer is `localhost:UID:GID:PID`), and the handler admits only the
  process that owns the socket's directory and its descendants. Anyone else, another process
  of the same user or group or root outside the scan, is disconnected during the handshake:
  none of its frames is delivered, so none is parsed. (Connecting sockets need no such check:
  only root can put a socket file in the directory.)
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
GROUP_DIRECTORY_MODE = 0o710     # the --user's group may enter, not list, create or remove
GROUP_SOCKET_MODE = 0o770        # ... and connect
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


def make_private_directory(base: str | None = None, group: int | None = None) -> str:
    """Remove stale directories, then create this process's own; returns its path.

    Mode 0700; with `group` (the gid of the user the children become) 0710 and that group.
    """
    remove_stale_directories(base)
    pid, start = process_identity.own_identity()
    previous = os.umask(PRIVATE_UMASK)
    try:
        path = tempfile.mkdtemp(prefix=f"{DIRECTORY_PREFIX}{pid}-{start}-", dir=base)
    finally:
        os.umask(previous)
    if group is not None:
        os.chown(path, -1, group)
        os.chmod(path, GROUP_DIRECTORY_MODE)
    return path


@contextlib.contextmanager
def private_directory(base: str | None = None, group: int | None = None) -> Iterator[str]:
    """A private directory for the body's sockets, removed afterwards."""
    path = make_private_directory(base, group)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def bind(sock: zmq.Socket, endpoint: str) -> None:
    """Bind `sock` so that only the scan's processes may connect (see the module docstring).

    The scan is the process named by the endpoint's private directory and its descendants;
    outside a private directory, the calling process and its descendants.
    """
    _ensure_peer_check(sock.context)
    owner = _owner(endpoint) or process_identity.own_identity()
    sock.zap_domain = f"lzr {owner[0]} {owner[1]}".encode()
    previous = os.umask(PRIVATE_UMASK)
    try:
        sock.bind(endpoint)
    finally:
        os.umask(previous)
    if endpoint.startswith("ipc://"):
        path = endpoint[len("ipc://"):]
        directory = os.stat(os.path.dirname(path))
        if stat.S_IMODE(directory.st_mode) == GROUP_DIRECTORY_MODE:
            os.chown(path, -1, directory.st_gid)
            os.chmod(path, GROUP_SOCKET_MODE)


def _owner(endpoint: str) -> tuple[int, int] | None:
    """The process named by the private directory an ipc:// endpoint lies in, if it does."""
    if not endpoint.startswith("ipc://"):
        return None
    owner = directory_owner(os.path.dirname(endpoint[len("ipc://"):]))
    return owner if owner is not None and owner[1] is not None else None


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
