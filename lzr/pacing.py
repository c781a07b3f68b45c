"""Token buckets, sans-IO: the caller passes the time in.

One bucket paces the SYNs a worker sends (-rate), and the engine keeps one per address for
the extra connections it opens there (--host-rate). Both are the same arithmetic, the generic
cell rate algorithm (GCRA): a bucket of `burst` tokens refilled at `rate` per second is
fully described by one number, the *theoretical arrival time* `tat`: the moment the bucket
would be full again if nothing more were taken. The tokens there at `now` are
`burst - (tat - now) * rate`. Taking n tokens moves `tat` n spacings (1 / rate) later.

`Gcra` holds the two constants; the state, one float, is the caller's, so the engine keeps a
bucket per address in one attribute. `TokenBucket` is a Gcra with its own state.
"""
from __future__ import annotations

# `tat` is a sum of spacings: allow for its rounding error when asking whether a token is
# there (a nanosecond).
_ROUNDING = 1e-9


class Gcra:
    """A token bucket's constants: `rate` tokens a second, at most `burst` at once."""

    __slots__ = ("rate", "burst", "spacing")

    FULL = float("-inf")    # the state of a bucket that has always been full

    def __init__(self, rate: float, burst: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.spacing = 1 / rate

    def empty(self, now: float) -> float:
        """The state of a bucket that is empty at `now`."""
        return now + self.burst * self.spacing

    def tokens(self, tat: float, now: float) -> float:
        """Tokens in the bucket at `now` (never more than `burst`)."""
        return self.burst - max(0.0, tat - now) * self.rate

    def has(self, tat: float, now: float, count: float = 1) -> bool:
        """Are `count` tokens there at `now`?"""
        return tat - now <= (self.burst - count) * self.spacing + _ROUNDING

    def take(self, tat: float, now: float, count: float = 1) -> float:
        """The state after taking `count` tokens at `now` (the caller checked `has`)."""
        return max(tat, now) + count * self.spacing

    def wait(self, tat: float, now: float, count: float = 1) -> float:
        """Seconds from `now` until `count` tokens (at most `burst`) are there."""
        count = min(count, self.burst)
        return max(0.0, tat - now - (self.burst - count) * self.spacing)

    def is_full(self, tat: float, now: float) -> bool:
        return tat <= now + _ROUNDING


class TokenBucket:
    """A bucket with its own state: admits up to `rate` items a second, `burst` at once.
    It starts empty, so a start-up does not send a burst."""

    __slots__ = ("gcra", "tat")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.gcra = Gcra(rate, max(1.0, burst))
        self.tat = self.gcra.empty(now)

    @property
    def rate(self) -> float:
        return self.gcra.rate

    def take(self, wanted: int, now: float) -> int:
        """Take as many of `wanted` tokens as are there; returns how many."""
        granted = min(wanted, int(self.gcra.tokens(self.tat, now) + _ROUNDING))
        if granted > 0:
            self.tat = self.gcra.take(self.tat, now, granted)
        return max(granted, 0)

    def take_all(self, count: int, now: float) -> bool:
        """Take `count` tokens (at most a burst) if they are all there; did it?"""
        count = min(count, self.gcra.burst)
        if not self.gcra.has(self.tat, now, count):
            return False
        self.tat = self.gcra.take(self.tat, now, count)
        return True

    def wait(self, wanted: float, now: float) -> float:
        """Seconds from `now` until `wanted` tokens are there."""
        return self.gcra.wait(self.tat, now, wanted)
