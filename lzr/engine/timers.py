"""Timer queues: every timer of one queue has the same delay, so a FIFO stays in deadline order.

The engine has two delays (-rt for a first probe, -t for everything else) and its clock never
goes back, so two FIFOs replace a heap: O(1) to arm, and no entry object per timer.

Arming a connection's timer stores a new deadline object in `conn.deadline` and queues the
same object. When it comes due it fires only if it is still that connection's deadline (the
same object, not just an equal value): a connection that was re-armed, disarmed, finished or
reused for another handshake has moved on, and the old entry is skipped. The deadline
object is the timer's generation (fixes LZR's state-name matching, docs/lzr-reference.md §7.3-6).
"""
from collections import deque


class TimerQueue:
    __slots__ = ("delay", "_deadlines", "_conns")

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._deadlines: deque = deque()
        self._conns: deque = deque()

    def arm(self, conn, now: float) -> None:
        conn.deadline = deadline = now + self.delay
        self._deadlines.append(deadline)
        self._conns.append(conn)

    def head(self) -> float | None:
        """The earliest deadline queued (possibly of a timer that has moved on)."""
        return self._deadlines[0] if self._deadlines else None

    def pop(self):
        """Remove the earliest entry; its connection if the timer is still current, else None."""
        deadline = self._deadlines.popleft()
        conn = self._conns.popleft()
        return conn if conn.deadline is deadline else None

    def __len__(self) -> int:
        return len(self._deadlines)


class Timers:
    """Every timer queue of the engine, each with the handler its timers call, `(item, now)`:
    the queues fire together, earliest first (on a tie, in the order given)."""

    __slots__ = ("_queues",)

    def __init__(self, queues) -> None:
        self._queues = tuple(queues)

    def fire_due(self, now: float) -> None:
        while True:
            fire, queue, due = None, None, now
            for candidate, handler in self._queues:
                head = candidate.head()
                if head is not None and (head < due or queue is None and head == due):
                    fire, queue, due = handler, candidate, head
            if queue is None:
                return
            item = queue.pop()
            if item is not None:
                fire(item, now)

    def next_deadline(self) -> float | None:
        heads = [d for d in (queue.head() for queue, _ in self._queues) if d is not None]
        return min(heads) if heads else None


class BudgetQueue(TimerQueue):
    """The same for targets' budgets (--target-timeout): a target's own `deadline` is its
    first connection's, so its budget's is kept in `budget`."""

    __slots__ = ()

    def arm(self, target, now: float) -> None:
        target.budget = deadline = now + self.delay
        self._deadlines.append(deadline)
        self._conns.append(target)

    def pop(self):
        deadline = self._deadlines.popleft()
        target = self._conns.popleft()
        return target if target.budget is deadline else None
