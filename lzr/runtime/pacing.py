"""The token bucket that paces new targets (-rate), in workers and senders alike."""
from __future__ import annotations


class TokenBucket:
    """Admits up to `rate` items per second with bursts of at most `burst` (at least one)."""

    def __init__(self, rate: float, now: float, burst: float = 1.0) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = 0.0
        self.stamp = now

    def _fill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, wanted: int, now: float) -> int:
        """Take as many of `wanted` tokens as there are; returns how many were taken."""
        self._fill(now)
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return granted

    def take_all_or_none(self, wanted: int, now: float) -> bool:
        """Take `wanted` tokens (at most a burst) if they are all there."""
        self._fill(now)
        wanted = min(wanted, self.burst)
        if self.tokens < wanted:
            return False
        self.tokens -= wanted
        return True

    def wait(self, wanted: float = 1.0) -> float:
        """Seconds until `wanted` tokens (at most a burst) are there."""
        return max(0.0, (min(wanted, self.burst) - self.tokens) / self.rate)
