"""ACKing-firewall probes (-haf, docs/lzr-reference.md §2.13).

Some middleboxes SYN-ACK on every port. When a target needs its first extra connection (its
second handshake), `haf` SYNs go to random ports of its address in LZR's ephemeral range,
where nothing should listen; an address that SYN-ACKs `needed` of them is an ACKing firewall.
Probes are never retransmitted and never recorded.

Two ways to use the answers:

* `TargetProbes` (--compat, LZR's): each target probes for itself, a probe unanswered after
  -t is dropped, and once enough answered, the target's next SYN-ACK or pure ACK on a later
  handshake ends it with `ackingFirewall: true`.
* `AddressVerdicts` (the default): the first target of an address to need an extra
  connection probes for the whole address, and the verdict comes as soon as the answers
  decide it, or when the probes' timeout (-rt) ends. Until then the address's targets start
  no handshake beyond their first round (--parallel); once an address is found to be a
  firewall, every target of it ends at its next packet, timer or handshake, so none walks
  its handshake list.
"""
from __future__ import annotations

from collections import OrderedDict
from random import Random
from typing import TYPE_CHECKING

from lzr.engine.ports import LocalPorts
from lzr.engine.send import SYN_WINDOW, Send
from lzr.engine.timers import TimerQueue
from lzr.engine.transitions import MOD32
from lzr.wire.segment import ACK, RST, SYN

if TYPE_CHECKING:
    from lzr.config import EngineConfig

PORTS = range(32768, 61000)     # where the probes go (LZR's ephemeral range)
VERDICTS_KEPT = 65536           # decided addresses remembered, most recent first


class Probe:
    """One probe's SYN, waiting for its answer."""

    __slots__ = ("owner", "key", "seq", "deadline")

    def __init__(self, owner, key: int, seq: int) -> None:
        self.owner = owner      # what the answer counts for: a target, or an address's Verdict
        self.key = key          # address << 32 | port << 16 | our local port
        self.seq = seq
        self.deadline = None


class _Prober:
    """Sends probes and hands their answers to `_answered(owner, synack)`."""

    def __init__(self, cfg: EngineConfig, ports: LocalPorts, rng: Random, targets: dict,
                 sends: list[Send]) -> None:
        self.probes = cfg.haf           # per target or address; 0: off
        self.needed = cfg.haf_needed    # SYN-ACKs that make the verdict
        self._ports = ports
        self._rng = rng
        self._targets = targets         # the engine's targets in flight, by key
        self._sends = sends             # the engine's outbox
        self._pending: dict[int, Probe] = {}
        self.timer = TimerQueue(cfg.haf_timeout)

    def _send(self, addr: int, owner, now: float) -> None:
        for _ in range(self.probes):
            port = self._rng.choice(PORTS)
            real = self._targets.get(addr << 16 | port)
            while True:     # never a local port a real target's connection to `port` uses
                lport = self._ports.take()
                key = addr << 32 | port << 16 | lport
                if key not in self._pending and (real is None or real.conn_on(lport) is None):
                    break
            probe = Probe(owner, key, self._rng.getrandbits(32))
            self._pending[key] = probe
            self._sends.append(Send(addr, lport, port, probe.seq, 0, SYN, SYN_WINDOW, b""))
            self.timer.arm(probe, now)

    def receive(self, seg, now: float) -> None:
        """A segment for none of the engine's connections: the answer to a probe?"""
        if not self._pending:
            return
        key = seg.saddr << 32 | seg.sport << 16 | seg.dport
        probe = self._pending.get(key)
        if probe is None or not seg.flags & ACK or seg.ack != (probe.seq + 1) & MOD32:
            return
        del self._pending[key]
        probe.deadline = None
        synack = bool(seg.flags & SYN) and not seg.flags & RST
        if synack:
            self._sends.append(Send(seg.saddr, seg.dport, seg.sport, seg.ack, 0, RST, 0, b""))
        self._answered(probe.owner, synack, now)

    def on_timer(self, probe: Probe, now: float) -> None:
        del self._pending[probe.key]
        self._answered(probe.owner, False, now)

    def owns(self, daddr: int, dport: int, sport: int) -> bool:
        return (daddr << 32 | dport << 16 | sport) in self._pending

    def _answered(self, owner, synack: bool, now: float) -> None:
        raise NotImplementedError


class TargetProbes(_Prober):
    """LZR's: per target, the verdict acts on the target's later packets (--compat)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._answers: dict[int, int] = {}      # target key -> probes that got a SYN-ACK

    def __len__(self) -> int:
        """Probes waiting and targets with answers counted."""
        return len(self._pending) + len(self._answers)

    def extra_connection(self, target, now: float) -> None:
        """`target` starts its second handshake: probe its address for it."""
        self._send(target.addr, target, now)

    def _answered(self, target, synack: bool, now: float) -> None:
        if synack and self._targets.get(target.key) is target:
            self._answers[target.key] = self._answers.get(target.key, 0) + 1

    def flagged(self, target) -> bool:
        """Has the target's address answered enough probes to be an ACKing firewall?"""
        return bool(self.probes) and self._answers.get(target.key, 0) >= self.needed

    def ends(self, target, hs: int) -> bool:
        """Does a SYN-ACK or pure ACK on the target's handshake `hs` end it as an ACKing
        firewall (§2.5 step 4)? LZR checks handshake 1 only."""
        return hs == 1 and self.flagged(target)

    def allows(self, target, now: float) -> bool:
        """May the target start its next handshake? LZR's probes never stop one."""
        return True

    def stops(self, target) -> bool:
        """Must the target end as an ACKing firewall instead of going on? Not in LZR's way."""
        return False

    def forget(self, target) -> None:
        """The target is done; its probes' late answers count for nothing."""
        if self._answers:
            self._answers.pop(target.key, None)


PENDING, CLEAR, FIREWALL = range(3)


class Verdict:
    """What the probes of one address found."""

    __slots__ = ("state", "answers", "resolved", "held")

    def __init__(self) -> None:
        self.state = PENDING
        self.answers = 0        # probes that got a SYN-ACK
        self.resolved = 0       # probes answered or timed out
        self.held: list | None = None   # targets waiting for the verdict to go on


class AddressVerdicts(_Prober):
    """Ours: one verdict per address, decided early; `on_verdict(target, firewall, now)` is
    how the engine hears of it for each target held meanwhile."""

    def __init__(self, cfg: EngineConfig, *args, on_verdict) -> None:
        super().__init__(cfg, *args)
        self._parallel = cfg.parallel
        self._on_verdict = on_verdict
        self._verdicts: OrderedDict[int, Verdict] = OrderedDict()
        self._decided = 0

    def __len__(self) -> int:
        """Probes waiting and addresses whose verdict is pending."""
        return len(self._pending) + len(self._verdicts) - self._decided

    def extra_connection(self, target, now: float) -> None:
        """A target of the address starts its second handshake: probe the address unless
        it is probed already or was decided lately."""
        addr = target.addr
        verdict = self._verdicts.get(addr)
        if verdict is not None:
            self._verdicts.move_to_end(addr)
            return
        verdict = self._verdicts[addr] = Verdict()
        self._send(addr, (addr, verdict), now)

    def _answered(self, owner, synack: bool, now: float) -> None:
        addr, verdict = owner
        if verdict.state != PENDING or self._verdicts.get(addr) is not verdict:
            return
        verdict.resolved += 1
        verdict.answers += synack
        if verdict.answers >= self.needed:
            self._decide(addr, verdict, FIREWALL, now)
        elif self.probes - verdict.resolved < self.needed - verdict.answers:
            self._decide(addr, verdict, CLEAR, now)      # too few left to answer

    def _decide(self, addr: int, verdict: Verdict, state: int, now: float) -> None:
        verdict.state = state
        self._decided += 1
        held, verdict.held = verdict.held or (), None
        for target in held:
            target.held = False
        while self._decided > VERDICTS_KEPT:
            oldest = next(iter(self._verdicts))
            if self._verdicts[oldest].state == PENDING:
                self._verdicts.move_to_end(oldest)
                continue
            del self._verdicts[oldest]
            self._decided -= 1
        for target in held:
            if self._targets.get(target.key) is target:
                self._on_verdict(target, state == FIREWALL, now)

    def flagged(self, target) -> bool:
        verdict = self._verdicts.get(target.addr)
        return verdict is not None and verdict.state == FIREWALL

    def ends(self, target, hs: int) -> bool:
        return self.flagged(target)

    def stops(self, target) -> bool:
        """Must the target end as an ACKing firewall instead of going on (its next
        handshake, retransmission or timer)?"""
        return self.flagged(target)

    def allows(self, target, now: float) -> bool:
        """May the target start its next handshake? A firewall's target is ended here
        (`on_verdict`); one that must wait for the verdict is told when it comes."""
        if self.flagged(target):
            self._on_verdict(target, True, now)
            return False
        return not self._holds(target)

    def _holds(self, target) -> bool:
        """Must the target wait for its address's verdict before its next handshake? Only
        beyond its first round, and then it is told (`on_verdict`) when the verdict comes."""
        if target.next_hs < self._parallel:
            return False
        verdict = self._verdicts.get(target.addr)
        if verdict is None or verdict.state != PENDING:
            return False
        if not target.held:
            target.held = True
            if verdict.held is None:
                verdict.held = []
            verdict.held.append(target)
        return True

    def forget(self, target) -> None:
        pass

