"""What a worker does with its inputs, decided without any I/O (the engine's style, one level up).

A worker process (worker.py) owns whole target addresses (`owners.owner_of`) and the engine
state of its targets. Its loop reads sockets and a monotonic clock, hands every input to a
`WorkerCore` with the time, and carries out what the core asks for. The core decides:

* **Answers.** A SYN-ACK or RST the receiver validated as the answer to a stateless SYN
  (validation.py) starts the target in the engine, exactly as a ZMap input line does
  (`add_synack`), or ends it as a closed port (`add_refused`). Only the first answer of a
  target counts: the retransmitted SYN draws a second SYN-ACK, which gets a RST and nothing
  more. Other segments go to the engine, which ignores those of no live connection.
* **Admission (list input).** Targets from the feeder wait in `pending` and are SYNed at the
  worker's share of -rate, while the engine holds fewer targets than the worker's share of
  --max-in-flight. Each goes into the `SynLedger` until it is answered or its time is up: no
  engine state for a target that never answers. Range scans have the cap too: the worker
  tells the senders to hold (`hold_changed`) when it is reached.
* **Credits.** How many of the feeder's targets have been taken up, so the feeder gives only a
  moment's worth ahead.
* **Checkpoints.** `finished_before`: every answer captured before that time has its final
  record (range scans).
* **The end.** `finished`: no input left, nothing waiting, nothing in flight, and no answer
  still able to come for a SYN that was sent. `stop` (Ctrl-C) sends nothing new and lets the
  targets in flight end with their open connections; `interrupt` (a second Ctrl-C) ends every
  target now, each with a record whose outcome says it was interrupted.

Times are monotonic seconds from the caller; the receiver's watermark (`segments`) says up to
when the capture has been read, so an unanswered target is given up only once its answer
could not be on its way any more.
"""
from __future__ import annotations

import sys
from collections import deque
from typing import NamedTuple

import numpy as np

from lzr.config import RANGES, ScanConfig
from lzr.engine import Engine, Send
from lzr.output.record import Outcome, Record
from lzr.pacing import TokenBucket
from lzr.runtime.packed_targets import packed_count, pack_targets, unpack_targets
from lzr.runtime.syn_batch import key_arrays, target_keys
from lzr.runtime.validation import Validation
from lzr.wire import ACK, RST, SYN, parse_addr

ADMIT_STEP = 0.005      # admit new targets in steps of this much of -rate, not one by one
MAX_WAIT = 0.05         # longest sleep while targets wait, so admission stays smooth
TIMER_SLACK = 0.005     # timers fire up to this late, so a wake-up serves many of them
IDLE_WAIT = 0.5


class SynTargets(NamedTuple):
    """Targets to send a stateless SYN to: addresses as `lzr.targets.walk` gives them."""

    addrs: np.ndarray
    ports: np.ndarray
    lports: np.ndarray
    isns: np.ndarray


class _Block:
    """Targets SYNed together: they are retransmitted and given up together."""

    __slots__ = ("targets", "first_sent", "last_sent", "retransmissions", "next_due",
                 "expires")

    def __init__(self, addrs: np.ndarray, ports: np.ndarray, now: float) -> None:
        self.targets = pack_targets(addrs, ports)
        self.first_sent = self.last_sent = now
        self.retransmissions = 0
        self.next_due = self.expires = now

    def unpacked(self) -> tuple[np.ndarray, np.ndarray]:
        """(addresses, ports), as they were given."""
        return unpack_targets(self.targets)

    def __len__(self) -> int:
        return packed_count(self.targets)


class SynLedger:
    """The list-input targets whose SYN is out and unanswered, in input order.

    Per target it keeps only the address and the port, packed (packed_targets.py: at most 6
    bytes for IPv4, 18 for IPv6, fewer where the block's addresses or ports share upper bits):
    its SYN's port and sequence number are the validation hash again, and its times are those
    of its block. A block is retransmitted `first_wait` after its first SYN and -t after every
    later one, -rn times, and its unanswered targets are given up -t after the last
    retransmission: the engine's SYN timer (§2.7), where `first_wait` is -rt outside --compat
    and -t with it, as in LZR.
    """

    def __init__(self, first_wait: float, timeout: float, retries: int) -> None:
        self.first_wait, self.timeout, self.retries = first_wait, timeout, retries
        self.to_resend: deque[_Block] = deque()
        self.to_expire: deque[_Block] = deque()
        self.held = 0

    def add(self, addrs: np.ndarray, ports: np.ndarray, now: float) -> None:
        block = _Block(addrs, ports, now)
        block.next_due = now + self.first_wait
        block.expires = now + self.first_wait + self.timeout * self.retries
        if self.retries:
            self.to_resend.append(block)
        self.to_expire.append(block)
        self.held += len(block)

    def due(self, now: float) -> list[_Block]:
        """Blocks whose next retransmission is due; they count it as done."""
        blocks = []
        while self.to_resend and self.to_resend[0].next_due <= now:
            block = self.to_resend.popleft()
            block.retransmissions += 1
            block.last_sent = now
            block.next_due = now + self.timeout
            if block.retransmissions < self.retries:
                self.to_resend.append(block)
            blocks.append(block)
        return blocks

    def expired(self, watermark: float) -> list[_Block]:
        """Blocks whose answers, if any, have all been captured and read by `watermark`
        (every block for a watermark of +inf)."""
        blocks = []
        while self.to_expire and self.to_expire[0].expires <= watermark:
            block = self.to_expire.popleft()
            self.held -= len(block)
            blocks.append(block)
        return blocks

    def stop_retransmitting(self) -> None:
        self.to_resend.clear()

    def next_event(self) -> float | None:
        times = [q[0].next_due if q is self.to_resend else q[0].expires
                 for q in (self.to_resend, self.to_expire) if q]
        return min(times) if times else None

    def bytes_per_target(self) -> float:
        """Memory of the packed targets (`bytes` objects, headers and tables included), per
        target held."""
        size = sum(sys.getsizeof(block.targets) for block in self.to_expire)
        return size / self.held if self.held else 0.0

    def __len__(self) -> int:
        return len(self.to_expire)


class WorkerCore:
    def __init__(self, cfg: ScanConfig, engine: Engine, validation: Validation | None,
                 senders: int, max_in_flight: int, now: float) -> None:
        self.cfg = cfg
        self.engine = engine
        self.validation = validation
        self.version = cfg.version
        self.lists = cfg.sends_syns and cfg.mode != RANGES
        self.pending: deque[tuple[int, int]] = deque()
        first_wait = engine.cfg.retransmit_after if engine.cfg.syn_retransmit_early else cfg.timeout
        self.ledger = SynLedger(first_wait, cfg.timeout, cfg.retries) if self.lists else None
        self.bucket = TokenBucket(cfg.rate / cfg.workers, cfg.rate / cfg.workers * MAX_WAIT, now)
        self.admit_step = max(1.0, self.bucket.rate * ADMIT_STEP)
        # Answers seen recently: a later SYN-ACK of the same target is no new target. Kept
        # as long as any SYN of the target can still draw one (-t after the last of them).
        self.answer_window = cfg.timeout * (cfg.retries + 1)
        self.answered: dict[int, float] = {}
        self.answer_order: deque[tuple[float, int]] = deque()
        # Answered targets in flight, with the capture time of their answer (checkpoints).
        self.outstanding: dict[int, float] = {}
        self.watermark = float("-inf")
        self.senders_left = senders if cfg.mode == RANGES else 0
        self.last_syn_at = float("-inf")
        self.input_over = cfg.mode == RANGES and senders == 0
        self.stopped = self.interrupted = False
        self.max_in_flight = max_in_flight
        self.holding = False
        self.last_admit = now
        self.received = 0           # targets the feeder gave
        self.syned = self.synacks = self.data = self.admitted = self.answers = 0
        self.records = self.identified = 0
        self.syns: list[SynTargets] = []
        self.resets: list[Send] = []
        self.unanswered_records: list[Record] = []   # SYNs nothing answered (list input)

    # -- inputs --------------------------------------------------------------------------------

    def segments(self, items, watermark: float, now: float) -> None:
        """Segments from the receiver, each with its `answer` mark; then its watermark."""
        engine = self.engine
        for seg, answer in items:
            if seg.flags & (SYN | ACK) == SYN | ACK:
                self.synacks += 1
            if seg.payload:
                self.data += 1
            if answer:
                self._answer(seg, now)
            else:
                engine.receive(seg, now)
        self.watermark = max(self.watermark, watermark)

    def _answer(self, seg, now: float) -> None:
        key = seg.saddr << 16 | seg.sport
        if key in self.answered:
            if self.engine.active(seg.saddr, seg.sport):
                self.engine.receive(seg, now)
            elif seg.flags & SYN and not seg.flags & RST:
                # A SYN-ACK to our retransmitted SYN after the target ended: close it politely.
                self.resets.append(Send(seg.saddr, seg.dport, seg.sport, seg.ack, 0, RST, 0, b""))
            return
        self.answered[key] = now
        self.answer_order.append((now + self.answer_window, key))
        self.answers += 1
        self.last_admit = now
        if seg.flags & RST:
            self.engine.add_refused(seg, now)
        else:
            self.engine.add_synack(seg.saddr, seg.sport, seg.dport, seg.seq, seg.ack, seg.window,
                                   seg.ttl, now)
        if self.engine.active(seg.saddr, seg.sport):
            self.outstanding[key] = self.watermark

    def synacks_from_zmap(self, synacks, now: float) -> None:
        """SYN-ACKs ZMap saw: its connections are open already, so continue them at once."""
        if self.stopped:
            return
        for s in synacks:
            self.engine.add_synack(s.saddr, s.sport, s.dport, s.seq, s.ack, s.window, s.ttl, now)
            self.admitted += 1
        self.last_admit = now

    def targets(self, targets: list[tuple[int, int]]) -> None:
        """Targets to SYN (list input); after a STOP they are only counted (credit)."""
        self.received += len(targets)
        if not self.stopped:
            self.pending.extend(targets)

    def input_ended(self) -> None:
        self.input_over = True

    def syns_done(self, last_syn_at: float) -> None:
        """A sender has sent its last SYN (range scans)."""
        self.senders_left -= 1
        self.last_syn_at = max(self.last_syn_at, last_syn_at)
        if self.senders_left <= 0:
            self.input_over = True

    def stop(self, now: float) -> None:
        """Ctrl-C: nothing new is SYNed or retransmitted and no target starts another
        handshake; each ends when its open connections do."""
        self.stopped = True
        self.pending.clear()
        if self.ledger:
            self.ledger.stop_retransmitting()
        self.engine.drain(now)

    def interrupt(self, now: float) -> None:
        """A second Ctrl-C: every target ends now, its record saying it was interrupted."""
        self.stop(now)
        self.interrupted = self.input_over = True
        self.engine.interrupt(now)
        if self.ledger:
            for block in self.ledger.expired(float("inf")):
                self._give_up(block, now, interrupted=True)

    def hold_changed(self) -> bool | None:
        """The hold on new targets (range scans' senders) if it changed: on at the cap of
        targets in flight, off again below nine tenths of it."""
        in_flight = self.engine.in_flight
        if not self.holding and in_flight >= self.max_in_flight:
            self.holding = True
            return True
        if self.holding and in_flight < 0.9 * self.max_in_flight:
            self.holding = False
            return False
        return None

    # -- the clock ---------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        if self.pending and self.engine.in_flight < self.max_in_flight:
            self._admit(self.bucket.take(len(self.pending), now), now)
        if self.ledger:
            for block in self.ledger.due(now):
                self._resend(block)
            for block in self.ledger.expired(self.watermark):
                self._give_up(block, now)
        self.engine.advance(now)
        # By the watermark, as the ledger gives up: an answer is known until every block that
        # may hold its target has been given up.
        while self.answer_order and self.answer_order[0][0] <= self.watermark:
            _, key = self.answer_order.popleft()
            self.answered.pop(key, None)

    def _admit(self, count: int, now: float) -> None:
        if not count:
            return
        batch = [self.pending.popleft() for _ in range(count)]
        addrs, ports = key_arrays(self.version, batch)
        self.ledger.add(addrs, ports, now)
        self._syn(addrs, ports)
        self.syned += count
        self.admitted += count
        self.last_admit = now

    def _unanswered(self, block: _Block) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """The block's targets that have not answered: addresses, ports and keys."""
        addrs, ports = block.unpacked()
        keys = target_keys(self.version, addrs, ports)
        keep = [index for index, key in enumerate(keys) if key not in self.answered]
        return addrs[keep], ports[keep], [keys[index] for index in keep]

    def _resend(self, block: _Block) -> None:
        addrs, ports, keys = self._unanswered(block)
        if keys:
            self._syn(addrs, ports)

    def _syn(self, addrs: np.ndarray, ports: np.ndarray) -> None:
        lports, isns = self.validation.expect_many(addrs, ports)
        self.syns.append(SynTargets(addrs, ports, lports, isns))

    def _give_up(self, block: _Block, now: float, interrupted: bool = False) -> None:
        addrs, ports, keys = self._unanswered(block)
        if not keys:
            return
        lports, isns = self.validation.expect_many(addrs, ports)
        record = self.engine.recorder.of_unanswered
        started = block.first_sent if self.engine.cfg.extended else None
        outcome = Outcome.INTERRUPTED if interrupted else Outcome.NO_SYNACK
        for position, key in enumerate(keys):
            self.unanswered_records.append(record(
                key >> 16, key & 0xFFFF, int(lports[position]), isn=int(isns[position]),
                retransmissions=block.retransmissions, sent_at=block.last_sent,
                started=started, now=now, outcome=outcome))

    # -- outputs -----------------------------------------------------------------------------

    def take_sends(self) -> list[Send]:
        sends = self.engine.take_sends()
        if self.resets:
            sends += self.resets
            self.resets = []
        return sends

    def take_syns(self) -> list[SynTargets]:
        syns, self.syns = self.syns, []
        return syns

    def take_records(self) -> list:
        records = self.engine.take_records()
        if self.unanswered_records:
            records += self.unanswered_records
            self.unanswered_records = []
        if records:
            self.records += len(records)
            self.identified += sum(1 for r in records if r.fingerprint != "unknown")
            if self.outstanding:
                for r in records:
                    addr = parse_addr(r.saddr)[1]
                    if not self.engine.active(addr, r.sport):
                        self.outstanding.pop(addr << 16 | r.sport, None)
        return records

    @property
    def taken(self) -> int:
        """Targets of the feeder's taken up (SYNed, or dropped by a STOP): its credit."""
        return self.received - len(self.pending)

    @property
    def unanswered_held(self) -> int:
        return self.ledger.held if self.ledger else 0

    @property
    def finished_before(self) -> float:
        """Every answer captured before this time has its final record."""
        if self.outstanding:
            return min(self.watermark, next(iter(self.outstanding.values())))
        return self.watermark

    def next_wakeup(self, now: float) -> float:
        """When `advance` has something to do at the latest (inputs wake the loop anyway)."""
        wake = now + IDLE_WAIT
        if self.pending:
            wake = min(wake, now + MAX_WAIT,
                       now + self.bucket.wait(min(len(self.pending), self.admit_step), now))
        deadline = self.engine.next_deadline()
        if deadline is not None:
            wake = min(wake, max(now + TIMER_SLACK, deadline))
        if self.ledger:
            event = self.ledger.next_event()
            if event is not None:
                wake = min(wake, max(now + TIMER_SLACK, event))
        if self.answer_order:
            wake = min(wake, max(now + TIMER_SLACK, self.answer_order[0][0]))
        return wake

    def finished(self, now: float) -> bool:
        if self.interrupted:
            return not self.engine.in_flight
        if not self.input_over or self.pending or self.engine.in_flight:
            return False
        if self.ledger and len(self.ledger):
            return False
        mode = self.cfg.mode
        if mode == RANGES and self.watermark < self.last_syn_at + self.cfg.timeout:
            return False        # an answer to the last SYNs could still come
        # After Ctrl-C nothing new was sent, so there are no late SYN-ACKs worth a cooldown.
        if self.stopped or not self.cfg.waits_cooldown:
            return True
        return now >= self.last_admit + self.cfg.cooldown

