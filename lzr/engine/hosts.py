"""The per-host cap and rate on the extra connections the engine opens to one address.

A target's first connection is the port scan itself (ZMap's, or our first SYN, paced by
-rate); every handshake after it is an *extra* connection. At most `cap` of them are open to
one address at once, and they start at most `rate` a second, in bursts of up to `cap` (a
token bucket per address, lzr/pacing.py). A target that finds its address at the cap or out
of tokens waits in the address's queue; the queue is served in turn, one connection per
turn, so the targets of one address share it evenly. What is kept per address disappears
once it has nothing open or queued and its bucket is full again (a fresh one is the same).
"""
from collections import deque
from typing import Callable

from lzr.engine.timers import TimerQueue
from lzr.pacing import Gcra


class Host:
    """An address with extra connections of ours open or queued."""

    __slots__ = ("addr", "conns", "waiters", "tat", "deadline")

    def __init__(self, addr: int) -> None:
        self.addr = addr
        self.conns = 0                      # extra connections open
        self.waiters: deque | None = None   # targets queued for a slot, served in turn
        self.tat = Gcra.FULL                # the host rate's bucket (pacing.Gcra's state)
        self.deadline = None                # its wake-up timer, when one is armed


class HostLimits:
    """The cap and rate of every address. `wants_conn(target)` says whether a queued target
    still wants another connection; `open_conn(target, now)` opens it, if it may, and says
    whether it did."""

    def __init__(self, cap: int | None, rate: float, wants_conn: Callable,
                 open_conn: Callable) -> None:
        self.cap = cap                      # None: no limits at all (--compat)
        self._bucket = Gcra(rate, cap) if rate and cap else None
        # Wakes an address whose next start the rate holds back. A start held back can go no
        # later than one spacing after the last start, so one spacing from the moment it was
        # held back is never too early.
        self.timer = TimerQueue(self._bucket.spacing if self._bucket else 1.0)
        self._hosts: dict[int, Host] = {}
        self._wants_conn = wants_conn
        self._open_conn = open_conn

    def __len__(self) -> int:
        """Addresses with something kept."""
        return len(self._hosts)

    def has_room(self, addr: int, now: float) -> bool:
        """May a target of `addr` open an extra connection now? Not while the address is at
        the cap or its rate, nor while other targets queue for it: they go first."""
        if self.cap is None:
            return True
        host = self._hosts.get(addr)
        return host is None or (host.conns < self.cap and not host.waiters
                                and not self._held_back(host, now))

    def started(self, addr: int, now: float) -> None:
        """An extra connection to `addr` starts now."""
        host = self._host(addr)
        host.conns += 1
        if self._bucket:
            host.tat = self._bucket.take(host.tat, now)

    def ended(self, addr: int) -> None:
        self._hosts[addr].conns -= 1

    def queue(self, target, now: float) -> None:
        """`target` waits for a slot at its address."""
        host = self._host(target.addr)
        if not target.waiting:
            target.waiting = True
            if host.waiters is None:
                host.waiters = deque()
            host.waiters.append(target)
        if host.conns < self.cap and self._held_back(host, now):
            self._wake_later(host, now)

    def wake(self, addr: int, now: float) -> None:
        """Hand the address's free slots to the targets queued for it, one connection per
        turn: a target that wants more queues again at the back (round robin)."""
        host = self._hosts.get(addr)
        if host is None:
            return
        waiters = host.waiters
        while waiters and host.conns < self.cap:
            target = waiters[0]
            wants = self._wants_conn(target)
            if wants and self._held_back(host, now):
                self._wake_later(host, now)
                break
            waiters.popleft()
            target.waiting = False
            if wants and self._open_conn(target, now) and self._wants_conn(target):
                self.queue(target, now)
        if not host.conns and not waiters:
            if self._bucket is None or self._bucket.is_full(host.tat, now):
                del self._hosts[addr]
            else:
                self._wake_later(host, now)     # forget it once its bucket is full again

    def backlog_seconds(self, remaining: Callable) -> float:
        """Seconds the longest queue takes to start at the host rate: its targets times the
        connections (`remaining(target)`) its first target still wants; 0 without a rate."""
        if self._bucket is None:
            return 0.0
        longest = max((len(host.waiters) * remaining(host.waiters[0])
                       for host in self._hosts.values() if host.waiters), default=0)
        return longest * self._bucket.spacing

    def on_timer(self, host: Host, now: float) -> None:
        host.deadline = None
        if self._hosts.get(host.addr) is host:
            self.wake(host.addr, now)

    def _host(self, addr: int) -> Host:
        host = self._hosts.get(addr)
        if host is None:
            host = self._hosts[addr] = Host(addr)
        return host

    def _held_back(self, host: Host, now: float) -> bool:
        return self._bucket is not None and not self._bucket.has(host.tat, now)

    def _wake_later(self, host: Host, now: float) -> None:
        """Come back to the address when its next token is due (one timer at a time)."""
        if host.deadline is None:
            self.timer.arm(host, now)
