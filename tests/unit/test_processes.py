"""A child process of a scan ends at once on the coordinator's SIGTERM, even with messages
queued for a peer that has gone: the coordinator would otherwise wait out its stop grace
and kill it, which added seconds to the end of every scan whose last packets arrived after
the workers had finished."""
import multiprocessing
import os
import signal
import tempfile

import zmq

from lzr.runtime import frames
from lzr.runtime.processes import LINGER_MS, child_main, pull, push
from waiting import wait_until


def queue_for_a_gone_peer_then_wait(endpoint: str, ready_path: str) -> None:
    ctx = zmq.Context()
    sock = push(ctx, endpoint)
    sock.send(b"never read")            # nobody is bound: it stays queued
    open(ready_path, "w").close()
    while True:
        signal.pause()                  # until the coordinator's SIGTERM ends the process


def test_sigterm_ends_a_child_without_waiting_out_the_linger():
    with tempfile.TemporaryDirectory() as directory:
        ctx = zmq.Context()
        coordinator = pull(ctx, f"ipc://{directory}/coordinator")
        ready = os.path.join(directory, "ready")
        child = multiprocessing.get_context("fork").Process(
            target=child_main,
            args=("receiver", os.getpid(), f"ipc://{directory}/coordinator", False, None, None,
                  queue_for_a_gone_peer_then_wait, f"ipc://{directory}/gone", ready))
        child.start()
        try:
            assert wait_until(lambda: os.path.exists(ready), timeout=10), "the child did not start"
            os.kill(child.pid, signal.SIGTERM)
            child.join(LINGER_MS / 1000 / 2)
            assert not child.is_alive(), "the child waited for its queued message"
            assert child.exitcode == 0
            assert not coordinator.poll(0), "a SIGTERM is not a failure to report"
        finally:
            if child.is_alive():
                child.kill()
                child.join()
            coordinator.close(linger=0)
            ctx.term()


def test_a_failing_child_reports_its_error_and_exits_1():
    def fail() -> None:
        raise ValueError("bad input")

    with tempfile.TemporaryDirectory() as directory:
        ctx = zmq.Context()
        coordinator = pull(ctx, f"ipc://{directory}/coordinator")
        child = multiprocessing.get_context("fork").Process(
            target=child_main,
            args=("feeder", os.getpid(), f"ipc://{directory}/coordinator", False, None, None, fail))
        child.start()
        child.join(10)
        try:
            assert child.exitcode == 1
            assert coordinator.poll(5000)
            frame = coordinator.recv()
            assert frames.kind_of(frame) == frames.FAILED
            assert "feeder: ValueError: bad input" in frames.unpack_text(frame)
        finally:
            coordinator.close(linger=0)
            ctx.term()
