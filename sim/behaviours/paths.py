"""Behaviours of the path to a host: `lzr-sim --loss P` and `--delay MS` put them on every
target host."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lzr_sim.behaviours.base import PATH, Behaviour, BehaviourError, nfqueue_program


@dataclass
class Loss(Behaviour):
    """Each packet arriving at the host is dropped with probability `probability`.

    Models lossy paths (the paper's "dropped mid-handshake" hosts, §2.4, average 7.8 SYN-ACK
    retransmissions; the 3%-loss accuracy gate). iptables `statistic` in random mode on
    INPUT (loopback excepted), so both the scanner's SYNs and its probes get lost.
    """

    name: ClassVar[str] = "loss"
    scope: ClassVar[str] = PATH
    probability: float = 0.03

    def setup(self):
        if not 0.0 < self.probability < 1.0:
            raise BehaviourError(f"loss probability must be in (0, 1): {self.probability}")
        return [self.iptables("filter", "INPUT", "!", "-i", "lo", "-m", "statistic", "--mode", "random",
                              "--probability", f"{self.probability:.6f}", "-j", "DROP")]


@dataclass
class Delay(Behaviour):
    """Every packet the host sends leaves `milliseconds` late.

    Models long paths and slow middleboxes (the reason LZR retransmits after `-rt` and waits
    `-t`). An NFQUEUE program on OUTPUT (loopback excepted) holds each packet for the delay;
    order is kept. Round trips through the host grow by at least the delay.
    """

    name: ClassVar[str] = "delay"
    scope: ClassVar[str] = PATH
    milliseconds: float = 100.0
    queue: int = 1002

    def setup(self):
        return [self.iptables("filter", "OUTPUT", "!", "-o", "lo", "-j", "NFQUEUE",
                              "--queue-num", str(self.queue), "--queue-bypass")]

    def daemon(self):
        return nfqueue_program("delay", "--queue", str(self.queue), "--ms", str(self.milliseconds))
