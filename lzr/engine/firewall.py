"""ACKing-firewall probes (-haf, docs/lzr-reference.md §2.13).

Some middleboxes SYN-ACK on every port. When a target starts its second handshake, `haf`
SYNs go to random ports of its address in LZR's ephemeral range; an address that SYN-ACKs
`needed` of them completes handshakes on ports nothing listens on, and the target's further
SYN-ACKs and pure ACKs end it as an ACKing firewall. Probes are never retransmitted and never
recorded: a probe unanswered after -t is dropped.
"""
from random import Random

from lzr.engine.ports import LocalPorts
from lzr.engine.send import Send
from lzr.engine.timers import TimerQueue
from lzr.engine.transitions import MOD32
from lzr.wire.segment import ACK, RST, SYN

PORTS = range(32768, 61000)     # where the probes go (LZR's ephemeral range)
SYN_WINDOW = 65535


class Probe:
    """One probe's SYN, waiting for its answer."""

    __slots__ = ("target", "key", "seq", "deadline")

    def __init__(self, target, key: int, seq: int) -> None:
        self.target = target    # the target that sent it (an engine.state.InFlight)
        self.key = key          # address << 32 | port << 16 | our local port
        self.seq = seq
        self.deadline = None


class FirewallProbes:
    def __init__(self, probes: int, needed: int, timeout: float, compat: bool,
                 ports: LocalPorts, rng: Random, targets: dict, sends: list[Send]) -> None:
        self.probes = probes            # per target; 0: off
        self.needed = needed            # answers that make the verdict
        self._compat = compat
        self._ports = ports
        self._rng = rng
        self._targets = targets         # the engine's targets in flight, by key
        self._sends = sends             # the engine's outbox
        self._pending: dict[int, Probe] = {}
        self._answers: dict[int, int] = {}      # target key -> probes that got a SYN-ACK
        self.timer = TimerQueue(timeout)

    def __len__(self) -> int:
        """Probes waiting and targets with answers counted."""
        return len(self._pending) + len(self._answers)

    def send(self, target, now: float) -> None:
        """Probe the address of `target`, which starts its second handshake."""
        addr = target.addr
        for _ in range(self.probes):
            port = self._rng.choice(PORTS)
            real = self._targets.get(addr << 16 | port)
            while True:     # never a local port a real target's connection to `port` uses
                lport = self._ports.take()
                key = addr << 32 | port << 16 | lport
                if key not in self._pending and (real is None or real.conn_on(lport) is None):
                    break
            probe = Probe(target, key, self._rng.getrandbits(32))
            self._pending[key] = probe
            self._sends.append(Send(addr, lport, port, probe.seq, 0, SYN, SYN_WINDOW, b""))
            self.timer.arm(probe, now)

    def receive(self, seg) -> None:
        """A segment for none of the engine's connections: the answer to a probe?"""
        if not self._pending:
            return
        key = seg.saddr << 32 | seg.sport << 16 | seg.dport
        probe = self._pending.get(key)
        if probe is None or not seg.flags & ACK or seg.ack != (probe.seq + 1) & MOD32:
            return
        del self._pending[key]
        probe.deadline = None
        if seg.flags & SYN and not seg.flags & RST:
            parent = probe.target
            if self._targets.get(parent.key) is parent:
                self._answers[parent.key] = self._answers.get(parent.key, 0) + 1
            self._sends.append(Send(seg.saddr, seg.dport, seg.sport, seg.ack, 0, RST, 0, b""))

    def on_timer(self, probe: Probe, now: float) -> None:
        del self._pending[probe.key]

    def flagged(self, target) -> bool:
        """Has the target's address answered enough probes to be an ACKing firewall?"""
        return bool(self.probes) and self._answers.get(target.key, 0) >= self.needed

    def ends(self, target, hs: int) -> bool:
        """Does a SYN-ACK or pure ACK on the target's handshake `hs` end it as an ACKing
        firewall (§2.5 step 4)? LZR checks handshake 1 only; we check every later one."""
        if not self.flagged(target):
            return False
        return hs == 1 if self._compat else hs >= 1

    def forget(self, target) -> None:
        """The target is done; its probes' late answers count for nothing."""
        if self._answers:
            self._answers.pop(target.key, None)

    def owns(self, daddr: int, dport: int, sport: int) -> bool:
        return (daddr << 32 | dport << 16 | sport) in self._pending
