"""How long a connection waits for what: the engine's connection timers and their policy.

LZR's (docs/lzr-reference.md §2.7): a first probe waits -rt, then every retransmission and
every answer -t, a SYN -t. Outside --compat a first SYN waits -rt too, as TCP's initial
retransmission timeout (RFC 6298, 1 s): a SYN-ACK comes within a round trip. And
(docs/identification.md, "Silent ports") the answer to a probe the target ACKed waits
`answer_rtts` times the time the ACK took, at least `answer_floor`, at most -t, rounded up to
a queue of the ladder floor, 2 x floor, ... (every queue holds timers of one delay,
timers.py). A probe of the first round of handshakes still waits -t in all for its answer
(a slow page, a slow TLS handshake), but past that wait it lingers: the rest of -t, on a
queue of its own, without its --parallel slot. A --target-timeout budget has its own queue.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from lzr.engine.timers import BudgetQueue, TimerQueue

if TYPE_CHECKING:
    from lzr.config import EngineConfig


def answer_waits(cfg: EngineConfig) -> tuple[float, ...]:
    """The waits for an ACKed probe's answer shorter than -t: from the floor, doubling."""
    waits, wait = [], cfg.answer_floor
    while cfg.answer_rtts and 0 < wait < cfg.timeout:
        waits.append(wait)
        wait *= 2
    return tuple(waits)


class Timing:
    def __init__(self, cfg: EngineConfig) -> None:
        self.first_probe = TimerQueue(cfg.retransmit_after)
        self.timeout = TimerQueue(cfg.timeout)
        self.first_syn = self.first_probe if cfg.syn_retransmit_early else self.timeout
        waits = answer_waits(cfg)
        self._answers = tuple(TimerQueue(wait) for wait in waits)
        # The rest of -t after each answer wait, for first-round probes that linger.
        self.lingers = {wait: TimerQueue(cfg.timeout - wait) for wait in waits} if (
            cfg.first_round_lingers) else {}
        self.budget = BudgetQueue(cfg.target_timeout) if cfg.target_timeout else None
        self._rtts = cfg.answer_rtts
        self._first_round = cfg.parallel
        self._silent_probes = cfg.silent_probes
        self._one_banner_window = cfg.skip_banner_waits

    @property
    def conn_queues(self) -> tuple[TimerQueue, ...]:
        """The queues whose timers fire as a wait of their own delay."""
        return (self.first_probe, self.timeout) + self._answers

    def answer(self, conn, now: float, server_first: bool) -> TimerQueue:
        """The timer for the answer to the probe that `conn`'s target ACKs at `now`. An ACK
        of a retransmission says nothing of the round trip; a server-first handshake's
        window is the banner's, not an answer's."""
        if conn.counter == 0 and (conn.hs >= self._first_round or self.lingers) and (
                not server_first):
            rtt = now - (conn.deadline - self.first_probe.delay)    # since the probe left
            for queue in self._answers:
                if queue.delay >= self._rtts * rtt:
                    return queue
        return self.timeout

    def lingering(self, conn, waited: float) -> TimerQueue | None:
        """Where a probe whose answer wait of `waited` s just passed waits out the rest of
        -t, if it is a first-round probe that lingers; None if its wait is over."""
        if conn.hs < self._first_round and waited in self.lingers:
            return self.lingers[waited]
        return None

    def skip_spent_banners(self, target, handshakes) -> None:
        """A banner comes on the first window opened, and the same empty probe again gets
        nothing new: once a target's banner window opened, its next server-first handshakes
        are skipped."""
        if self._one_banner_window:
            while target.next_hs < len(handshakes) and handshakes[target.next_hs].server_first:
                target.next_hs += 1

    def gives_up(self, target, server_first: bool, acked: bool) -> bool:
        """A probe of the target got no answer in time: a banner window passed in silence
        (server-first), or a probe was ACKed and never answered. Should the target stop
        asking (--silent-probes: so many silent probes, and a banner was waited for)?"""
        if not server_first and acked:
            target.silent += 1
            return 0 < self._silent_probes <= target.silent and target.banner_asked
        return False
