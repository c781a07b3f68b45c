"""The scan's private socket directory and the peer check on every bound socket."""
import os
import stat

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

from lzr.runtime import local_ipc, process_identity
from waiting import wait_until


def dead_pid() -> int:
    """A pid that belonged to a process that has ended (and was reaped)."""
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    return child


def test_private_directory_is_0700_named_after_its_process_and_removed(tmp_path):
    with local_ipc.private_directory(str(tmp_path)) as directory:
        info = os.lstat(directory)
        assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
        assert local_ipc.directory_owner(directory) == process_identity.own_identity()
    assert not os.path.exists(directory)


def test_a_directory_for_processes_that_give_up_root(tmp_path):
    """Their group may enter and connect; only the owner may create or remove a file."""
    group = os.getegid()
    ctx = zmq.Context()
    inbox = ctx.socket(zmq.PULL)
    try:
        with local_ipc.private_directory(str(tmp_path), group=group) as directory:
            info = os.stat(directory)
            assert stat.S_IMODE(info.st_mode) == 0o710 and info.st_gid == group
            local_ipc.bind(inbox, f"ipc://{directory}/inbox")
            info = os.stat(os.path.join(directory, "inbox"))
            assert stat.S_IMODE(info.st_mode) == 0o770 and info.st_gid == group
    finally:
        inbox.close(linger=0)
        ctx.term()


def test_stale_directories_are_removed_and_live_ones_kept(tmp_path):
    pid, start = process_identity.own_identity()
    live = tmp_path / f"{local_ipc.DIRECTORY_PREFIX}{pid}-{start}-abc"
    reused_pid = tmp_path / f"{local_ipc.DIRECTORY_PREFIX}{pid}-{start + 1}-abc"
    dead = tmp_path / f"{local_ipc.DIRECTORY_PREFIX}{dead_pid()}-1-abc"
    old_style = tmp_path / f"{local_ipc.DIRECTORY_PREFIX}{dead_pid()}-x8e2k"
    unrelated = tmp_path / "lzr-something-else"
    for directory in (live, reused_pid, dead, old_style, unrelated):
        directory.mkdir()
        (directory / "sock").touch()
    link = tmp_path / f"{local_ipc.DIRECTORY_PREFIX}{dead_pid()}-1-link"
    link.symlink_to(unrelated)
    removed = local_ipc.remove_stale_directories(str(tmp_path))
    assert sorted(removed) == sorted(str(d) for d in (reused_pid, dead, old_style))
    assert live.exists() and unrelated.exists() and (unrelated / "sock").exists()
    assert link.is_symlink(), "a symlink is never followed nor removed"


@pytest.mark.parametrize("domain, address, allowed", [
    (b"lzr %d %d", b"localhost:0:0:%d", True),
    (b"lzr %d %d", b"localhost:65534:65534:1", False),            # init is not ours
    (b"other %d %d", b"localhost:0:0:%d", False),
    (b"lzr %d", b"localhost:0:0:%d", False),
    (b"lzr %d %d", b"192.0.2.1", False),                           # not an ipc:// peer
    (b"lzr %d %d", b"localhost:0:0:\xff", False),
])
def test_peer_decision(domain, address, allowed):
    pid, start = process_identity.own_identity()
    domain = domain % ((pid, start) if domain.count(b"%d") == 2 else (pid,))
    address = address % pid if b"%d" in address else address
    assert local_ipc.peer_allowed(domain, address) is allowed


def connect_and_send(endpoint: str, report_fd: int) -> None:
    """In a child: send one frame, then write to `report_fd` how the handshake ended."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    sock.connect(endpoint)
    sock.send(b"frame from pid %d" % os.getpid())
    outcome = b"timeout"
    if monitor.poll(5000):
        event = recv_monitor_message(monitor)["event"]
        outcome = b"accepted" if event == zmq.EVENT_HANDSHAKE_SUCCEEDED else b"refused"
    os.write(report_fd, outcome)
    os._exit(0)


def run_peer(endpoint: str, orphaned: bool) -> str:
    """Connect from a child, or from an orphaned grandchild (no longer our descendant)."""
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_fd)
        if not orphaned:
            connect_and_send(endpoint, write_fd)
        parent = os.getpid()
        if os.fork() == 0:
            if wait_until(lambda: os.getppid() != parent, timeout=10):   # our parent has exited
                connect_and_send(endpoint, write_fd)
            os.write(write_fd, b"still a descendant")
            os._exit(0)
        os._exit(0)
    os.close(write_fd)
    os.waitpid(child, 0)
    with os.fdopen(read_fd, "rb") as report:
        return report.read().decode()


def test_only_the_owner_and_its_descendants_may_connect(tmp_path):
    ctx = zmq.Context()
    inbox = ctx.socket(zmq.PULL)
    try:
        with local_ipc.private_directory(str(tmp_path)) as directory:
            endpoint = f"ipc://{directory}/inbox"
            local_ipc.bind(inbox, endpoint)
            path = endpoint[len("ipc://"):]
            assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0
            assert run_peer(endpoint, orphaned=True) == "refused"
            assert run_peer(endpoint, orphaned=False) == "accepted"
            assert inbox.poll(5000)
            assert inbox.recv().startswith(b"frame from pid")
            assert not inbox.poll(200), "the refused peer's frame was delivered"
    finally:
        inbox.close(linger=0)
        ctx.term()

