"""MACs of targets on a directly connected subnet, resolved without stalling a worker.

With no gateway every target is its own next hop. A worker asks for a target's MAC when it
first sends to it and its frames wait here meanwhile. One background thread asks the kernel
to resolve every new address (ARP or NDP: kernel_tables.ask_to_resolve, many per `ip -batch`),
then reads the neighbour table every few milliseconds and hands back what resolved. So a LAN scan costs two `ip` runs per poll,
not a blocked thread per target, and silent addresses cost nothing but their wait.
"""
from __future__ import annotations

import queue
import threading
import time

from lzr.runtime import kernel_tables
from lzr.wire import format_addr

POLL_INTERVAL = 0.02
RESOLVE_TIMEOUT = 3.0


class NeighbourCache:
    def __init__(self, interface: str, version: int) -> None:
        self.interface = interface
        self.version = version
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
                kernel_tables.ask_to_resolve(
                    self.interface, [format_addr(self.version, addr) for addr in new])
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
