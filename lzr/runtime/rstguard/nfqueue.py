"""The nfqueue mode: a thread that gives each queued kernel RST its verdict.

RSTs of flows the scanner owns are dropped, others pass (after a short hold, in case the
flow's announcement is still on its way). Packets are parsed with lzr.wire; `Verdicts` holds
the decisions and has no I/O, `QueueLoop` is the thread around it.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from collections import deque
from typing import Callable

from lzr.runtime.rstguard.rules import RstGuardError
from lzr.wire import MalformedPacket, parse_ip

# Held RSTs stay in the kernel's queue: make room for bursts (the library's default is 1024).
QUEUE_MAX_LEN = 65536
# Only the IP and TCP headers are read; copying 128 bytes per RST keeps the socket small. The
# kernel's RSTs carry no data, so they fit whole.
QUEUE_COPY_BYTES = 128

OwnsCallable = Callable[[int, int, int], bool]


def rst_flow_key(packet: bytes, version: int) -> tuple[int, int, int] | None:
    """(target address, target port, local port) of a kernel RST given as a bare IP packet.

    None for anything that is not a whole TCP segment of this IP version.
    """
    try:
        segment = parse_ip(packet)
    except MalformedPacket:
        return None
    if segment is None or segment.version != version:
        return None
    return segment.daddr, segment.dport, segment.sport


class Verdicts:
    """Which queued RST to drop and which to let through; no I/O, the clock is passed in.

    A packet is anything with `drop()` and `accept()`. A RST of an owned flow is dropped at
    once. Any other is held for `hold_seconds`: dropped as soon as its flow is announced
    (`flows_opened`), otherwise asked about once more when its time is up (`expire`) and let
    through if still not owned.
    """

    def __init__(self, owns: OwnsCallable, hold_seconds: float) -> None:
        self.owns = owns
        self.hold_seconds = hold_seconds
        self.dropped = 0
        self.accepted = 0
        # Held RSTs: each entry is [deadline, key, packet], packet None once it has its verdict.
        # `_expiry` is in arrival order (and so deadline order); `_held` finds them by flow.
        self._expiry: deque[list] = deque()
        self._held: dict[tuple[int, int, int], list[list]] = {}

    @property
    def next_deadline(self) -> float | None:
        return self._expiry[0][0] if self._expiry else None

    def on_rst(self, key: tuple[int, int, int] | None, packet, now: float) -> None:
        if key is not None and self._owned(key):
            self._drop(packet)
        elif key is not None and self.hold_seconds > 0:
            entry = [now + self.hold_seconds, key, packet]
            self._expiry.append(entry)
            self._held.setdefault(key, []).append(entry)
        else:
            self._accept(packet)

    def flows_opened(self, keys: list[tuple[int, int, int]]) -> None:
        for key in keys:
            for entry in self._held.pop(key, ()):
                self._drop(entry[2])
                entry[2] = None

    def expire(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            entry = self._expiry.popleft()
            _, key, packet = entry
            if packet is None:
                continue
            held = self._held[key]
            held.remove(entry)
            if not held:
                del self._held[key]
            if self._owned(key):
                self._drop(packet)
            else:
                self._accept(packet)

    def release_all(self) -> None:
        """Let every held RST through (the guard is going away)."""
        for _, _, packet in self._expiry:
            if packet is not None:
                self._accept(packet)
        self._expiry.clear()
        self._held.clear()

    def _owned(self, key: tuple[int, int, int]) -> bool:
        # An exception escaping into NetfilterQueue's callback would stop the loop; a failing
        # `owns` must only cost this one RST its guard.
        try:
            return bool(self.owns(*key))
        except Exception:
            return False

    def _drop(self, packet) -> None:
        packet.drop()
        self.dropped += 1

    def _accept(self, packet) -> None:
        packet.accept()
        self.accepted += 1


class QueueLoop:
    """A thread that reads the NFQUEUE and the flow announcements and applies `Verdicts`.

    Ownership comes from an `owns` callable or, without one, from a FlowTable fed by flow
    announcements on a ZeroMQ PULL socket that this loop binds, where only the processes of
    this scan may connect (lzr.runtime.local_ipc). Without an endpoint it binds one in a
    private directory of its own, removed on `stop()`.
    """

    def __init__(self, queue_num: int, version: int, owns: OwnsCallable | None,
                 announce_endpoint: str | None, hold_seconds: float,
                 also_owns: OwnsCallable | None = None) -> None:
        try:
            from netfilterqueue import NetfilterQueue
        except ImportError:
            raise RstGuardError("RST guard mode nfqueue needs the NetfilterQueue package: "
                                "pip install 'lzr[nfqueue]' (builds against libnetfilter-queue-dev)") from None
        import zmq
        from lzr.runtime import flow_announce, local_ipc

        self.version = version
        self._context = zmq.Context.instance()
        self._announcements = None
        self._own_directory = None
        self.table = None
        self.announce_endpoint = None
        if owns is None:
            self.table = flow_announce.FlowTable()
            owns = self.table.owns
            self._announcements = self._context.socket(zmq.PULL)
            self._announcements.linger = 0
            if announce_endpoint is None:
                self._own_directory = local_ipc.make_private_directory()
                announce_endpoint = f"ipc://{self._own_directory}/rstguard-announce"
            self.announce_endpoint = announce_endpoint
            local_ipc.bind(self._announcements, self.announce_endpoint)
        if also_owns is not None:
            announced = owns
            owns = lambda *key: announced(*key) or also_owns(*key)  # noqa: E731
        self.verdicts = Verdicts(owns, hold_seconds)
        self._queue = NetfilterQueue()
        try:
            self._queue.bind(queue_num, self._on_packet, max_len=QUEUE_MAX_LEN, range=QUEUE_COPY_BYTES,
                             sock_len=QUEUE_MAX_LEN * 2 * QUEUE_COPY_BYTES)
        except OSError as error:
            self._close_sockets()
            raise RstGuardError(f"RST guard: cannot listen on NFQUEUE {queue_num} ({error}); "
                                "another program may hold it: choose another queue number") from None
        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._loop, name="lzr-rstguard-nfqueue", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self.verdicts.dropped

    @property
    def accepted(self) -> int:
        return self.verdicts.accepted

    def stop(self) -> None:
        """Stop the thread, let held RSTs pass, release the queue. A second call does nothing."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        os.write(self._stop_write, b"x")
        thread.join()
        self.verdicts.release_all()
        self._queue.unbind()
        self._close_sockets()
        os.close(self._stop_read)
        os.close(self._stop_write)

    def _close_sockets(self) -> None:
        if self._announcements is not None:
            self._announcements.close()
            self._announcements = None
            # libzmq does not always unlink the socket file of an ipc:// endpoint it bound.
            if self.announce_endpoint.startswith("ipc://"):
                try:
                    os.unlink(self.announce_endpoint[len("ipc://"):])
                except FileNotFoundError:
                    pass
        if self._own_directory is not None:
            shutil.rmtree(self._own_directory, ignore_errors=True)
            self._own_directory = None

    def _loop(self) -> None:
        import zmq
        from lzr.runtime import frames

        poller = zmq.Poller()
        queue_fd = self._queue.get_fd()
        poller.register(queue_fd, zmq.POLLIN)
        poller.register(self._stop_read, zmq.POLLIN)
        if self._announcements is not None:
            poller.register(self._announcements, zmq.POLLIN)
        while True:
            deadline = self.verdicts.next_deadline
            timeout_ms = None if deadline is None else max(0.0, (deadline - time.monotonic()) * 1000)
            ready = dict(poller.poll(timeout_ms))
            if self._stop_read in ready:
                return
            # Announcements first: a flow opened just before its RST must count as owned.
            if self._announcements is not None and self._announcements in ready:
                while True:
                    try:
                        frame = self._announcements.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    try:
                        self.verdicts.flows_opened(self.table.apply(frame))
                    except frames.FrameError:
                        continue
            if queue_fd in ready:
                self._queue.run(block=False)
            self.verdicts.expire(time.monotonic())

    def _on_packet(self, packet) -> None:
        self.verdicts.on_rst(rst_flow_key(packet.get_payload(), self.version), packet, time.monotonic())
