"""MACs of targets on a directly connected subnet, resolved without stalling a worker.

With no gateway every target is its own next hop. A worker asks for a target's MAC when it
first sends to it and its frames wait here meanwhile. One background thread asks for every new
address to be resolved (ARP or NDP: kernel_tables.ask_to_resolve, many per `ip -batch`), then
reads the neighbour table every few milliseconds and hands back what resolved. So a LAN scan
costs two `ip` runs per poll, not a blocked thread per target, and silent addresses cost
nothing but their wait.

Asking the kernel to resolve needs CAP_NET_ADMIN, which a worker gives up after its setup;
reading the table needs nothing. So in a scan the asking goes through the coordinator:
`NeighbourRequests` sends the addresses to the `NeighbourResolver` thread the coordinator runs.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable

import zmq

from lzr.runtime import frames, kernel_tables, local_ipc
from lzr.wire import format_addr

POLL_INTERVAL = 0.02
RESOLVE_TIMEOUT = 3.0


class NeighbourCache:
    """`ask(addresses)` starts the resolution of integer addresses (called from the cache's
    thread); by default it asks the kernel directly."""

    def __init__(self, interface: str, version: int,
                 ask: Callable[[list[int]], None] | None = None) -> None:
        self.interface = interface
        self.version = version
        self._ask = ask or self._ask_kernel
        self.known: dict[int, bytes] = {}
        self.waiting: dict[int, list] = {}          # address -> items held until it resolves
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._resolve_loop, name="lzr-neigh", daemon=True)
        self._thread.start()

    def hold(self, addr: int, item) -> None:
        """Keep `item` until `addr` resolves; the first hold starts the resolution."""
        held = self.waiting.get(addr)
        if held is None:
            self.waiting[addr] = [item]
            self._requests.put(addr)
        else:
            held.append(item)

    def resolved(self) -> list[tuple[int, bytes | None, list]]:
        """(address, MAC or None, held items) of every resolution finished since the last call.

        A failure is not remembered: the held items are dropped, and the engine's next
        retransmission to that address asks again (a busy host may answer late).
        """
        out = []
        while True:
            try:
                addr, mac = self._done.get_nowait()
            except queue.Empty:
                return out
            if mac is not None:
                self.known[addr] = mac
            out.append((addr, mac, self.waiting.pop(addr, [])))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    # -- the background thread ------------------------------------------------------------------

    def _resolve_loop(self) -> None:
        deadlines: dict[int, float] = {}     # address -> when to give up on it
        while not self._stop.wait(POLL_INTERVAL):
            new = []
            while True:
                try:
                    new.append(self._requests.get_nowait())
                except queue.Empty:
                    break
            if new:
                self._ask(new)
                now = time.monotonic()
                deadlines.update((addr, now + RESOLVE_TIMEOUT) for addr in new)
            if not deadlines:
                continue
            try:
                table = kernel_tables.neighbour_table(self.interface)
            except kernel_tables.RouteError:
                table = {}
            now = time.monotonic()
            for addr in list(deadlines):
                mac = table.get(format_addr(self.version, addr))
                if mac is not None or now >= deadlines[addr]:
                    del deadlines[addr]
                    self._done.put((addr, mac))

    def _ask_kernel(self, addrs: list[int]) -> None:
        kernel_tables.ask_to_resolve(self.interface, [format_addr(self.version, a) for a in addrs])


class NeighbourRequests:
    """A worker's `ask` for NeighbourCache: sends the addresses to the coordinator's resolver.

    The socket is made on first use, in the cache's thread, which alone uses it.
    """

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._socket: zmq.Socket | None = None

    def __call__(self, addrs: list[int]) -> None:
        if self._socket is None:
            self._socket = zmq.Context.instance().socket(zmq.PUSH)
            self._socket.linger = 0
            self._socket.connect(self.endpoint)
        self._socket.send(frames.pack_neighbours(addrs))


class NeighbourResolver:
    """The coordinator's side: a thread that asks the kernel, with the coordinator's
    privileges, to resolve the addresses workers send to `endpoint`."""

    def __init__(self, interface: str, version: int, endpoint: str) -> None:
        self.interface = interface
        self.version = version
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PULL)
        self._socket.linger = 0
        local_ipc.bind(self._socket, endpoint)
        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._loop, name="lzr-neigh-resolver", daemon=True)
        self._thread.start()

    def close(self) -> None:
        os.write(self._stop_write, b"x")
        self._thread.join()
        self._socket.close()
        self._context.term()
        os.close(self._stop_read)
        os.close(self._stop_write)

    def _loop(self) -> None:
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._stop_read, zmq.POLLIN)
        while self._stop_read not in dict(poller.poll()):
            addrs = []
            while True:
                try:
                    addrs += frames.unpack_neighbours(self._socket.recv(zmq.NOBLOCK))
                except zmq.Again:
                    break
                except frames.FrameError:
                    continue
            limit = 1 << (32 if self.version == 4 else 128)
            texts = [format_addr(self.version, a) for a in dict.fromkeys(addrs) if a < limit]
            if texts:
                kernel_tables.ask_to_resolve(self.interface, texts)
