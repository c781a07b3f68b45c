"""Local ports for the connections the engine opens itself."""
import random


class LocalPorts:
    """Hands out the ports of a range in a seeded random order, cycling.

    A port comes back only after every other port of the range has been handed out, so a new
    connection never lands on a port that a server may still hold for one of our recent
    connections (LZR takes the old port + 1, docs/lzr-reference.md §2.10). Ports are shared by different
    targets: a connection is known by both ends, and the engine checks the one target.
    """

    def __init__(self, ports: range, rng: random.Random) -> None:
        if not ports:
            raise ValueError("empty local port range")
        self._order = list(ports)
        rng.shuffle(self._order)
        self._next = 0

    def __len__(self) -> int:
        return len(self._order)

    def take(self) -> int:
        port = self._order[self._next]
        self._next = (self._next + 1) % len(self._order)
        return port

    def take_unused(self, target) -> int:
        """The next port that no live connection of `target` uses."""
        while True:
            port = self.take()
            if target.conn_on(port) is None:
                return port
