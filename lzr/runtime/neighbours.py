"""MACs of targets on a directly connected subnet, resolved without stalling a shard.

With no gateway every target is its own next hop. A shard asks for a target's MAC when it
first sends to it; the kernel resolves it (routes.resolve_neighbour, ARP or NDP) on a few
worker threads while the shard goes on, and the frames for that target wait here meanwhile.
"""
from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor

from lzr.runtime import routes
from lzr.wire import format_addr

RESOLVERS = 4
RESOLVE_TIMEOUT = 3.0


class NeighbourCache:
    def __init__(self, interface: str, version: int) -> None:
        self.interface = interface
        self.version = version
        self.known: dict[int, bytes] = {}
        self.waiting: dict[int, list] = {}          # address -> items held until it resolves
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._pool = ThreadPoolExecutor(RESOLVERS, thread_name_prefix="lzr-neigh")

    def hold(self, addr: int, item) -> None:
        """Keep `item` until `addr` resolves; the first hold starts the resolution."""
        held = self.waiting.get(addr)
        if held is None:
            self.waiting[addr] = [item]
            self._pool.submit(self._resolve, addr)
        else:
            held.append(item)

    def _resolve(self, addr: int) -> None:
        try:
            mac = routes.resolve_neighbour(self.interface, format_addr(self.version, addr),
                                           RESOLVE_TIMEOUT)
        except routes.RouteError:
            mac = None
        self._done.put((addr, mac))

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
        self._pool.shutdown(wait=False, cancel_futures=True)
