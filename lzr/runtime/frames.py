"""Every message between the scan's processes: batched binary frames, laid out here and only here.

A frame is one ZeroMQ message: a 2-byte header (FRAME_VERSION, kind) and a body whose layout
the kind fixes. Batches carry a count and then that many fixed-size items (variable parts
follow their item with a length prefix). No pickle ever crosses a socket: a frame from a
different build is refused by its version byte, not misread.

Addresses travel as two unsigned 64-bit halves so one layout serves IPv4 and IPv6.
"""
from __future__ import annotations

import functools
import math
import struct
from typing import Iterable, NamedTuple

from lzr.output.record import Outcome, Record
from lzr.targets.types import SynAck
from lzr.wire.segment import Segment

FRAME_VERSION = 3

# Kinds.
TARGETS = 1        # feeder -> worker: targets to SYN
SYNACKS = 2        # feeder -> worker: SYN-ACKs ZMap saw
INPUT_END = 3      # feeder -> worker: no more input for this worker
SEGMENTS = 4       # receiver -> worker: captured segments (none: a tick of the capture clock)
RECORDS = 5        # worker -> writer: final records
WORKER_DONE = 6    # worker -> writer: this worker will send no more records; its counts
STOP = 7           # coordinator -> feeder/sender/worker: Ctrl-C, no new targets
WORKER_STATS = 8   # worker -> coordinator
FEEDER_STATS = 9   # feeder -> coordinator
WRITER_STATS = 10  # writer -> coordinator
SUMMARY = 11       # writer -> coordinator: the end-of-scan summary text
RECEIVER_STATS = 12  # receiver -> coordinator
FAILED = 13        # any process -> coordinator: a runtime error message, the process ends
READY = 14         # receiver/worker -> coordinator: sockets open, the feeder may start
INPUT_COUNTS = 15  # feeder/sender -> writer: input skipped as malformed, blocked; targets SYNed
SENDER_MARKS = 16  # sender -> coordinator: chunk rounds whose last SYN pass is over
CREDIT = 17        # worker -> feeder: how many of the targets it was given it has taken up
FLOWS = 18         # worker -> RST guard (nfqueue mode): flows opened and closed
NEIGHBOURS = 19    # worker/sender -> coordinator: addresses whose MAC the kernel should resolve
SENDER_STATS = 20  # sender -> coordinator
SYNS_DONE = 21     # sender -> worker: this sender sends no more SYNs; when it sent the last
INTERRUPT = 22     # coordinator -> worker/sender/feeder: end everything now, records written
HOLD = 23          # worker -> sender: its targets in flight are at the cap, or below it again
WATERMARK = 24     # worker -> writer: every answer captured before this has its record sent

_HEADER = struct.Struct("<BB")
_COUNT = struct.Struct("<I")
_LOW64 = (1 << 64) - 1


class FrameError(ValueError):
    """A frame that this build cannot read."""


def _refuse_malformed(unpack):
    """Any way a frame is broken (short, a count beyond its body, bad UTF-8, an unknown kind)
    raises FrameError, the one error a reader of frames has to expect."""
    @functools.wraps(unpack)
    def checked(frame: bytes):
        try:
            return unpack(frame)
        except FrameError:
            raise
        except (struct.error, UnicodeDecodeError, KeyError, IndexError, ValueError) as error:
            raise FrameError(f"malformed frame for {unpack.__name__}: {error}") from None
    return checked


def kind_of(frame: bytes) -> int:
    if len(frame) < _HEADER.size:
        raise FrameError("frame shorter than its header")
    version, kind = _HEADER.unpack_from(frame)
    if version != FRAME_VERSION:
        raise FrameError(f"frame version {version}, this build speaks {FRAME_VERSION}")
    return kind


def _header(kind: int) -> bytes:
    return _HEADER.pack(FRAME_VERSION, kind)


def empty(kind: int) -> bytes:
    """A frame with no body (INPUT_END, STOP)."""
    return _header(kind)


# --- targets and SYN-ACKs -------------------------------------------------------------------

_TARGET = struct.Struct("<QQH")                  # addr hi, addr lo, port


def pack_targets(targets: Iterable[tuple[int, int]]) -> bytes:
    items = [_TARGET.pack(addr >> 64, addr & _LOW64, port) for addr, port in targets]
    return b"".join((_header(TARGETS), _COUNT.pack(len(items)), *items))


@_refuse_malformed
def unpack_targets(frame: bytes) -> list[tuple[int, int]]:
    (count,) = _COUNT.unpack_from(frame, 2)
    body = frame[6:6 + count * _TARGET.size]
    return [((hi << 64) | lo, port) for hi, lo, port in _TARGET.iter_unpack(body)]


_SYNACK = struct.Struct("<BQQQQHHIIHB")        # version, saddr, daddr, ..., ttl


def pack_synacks(items: Iterable[SynAck]) -> bytes:
    body = [_SYNACK.pack(s.version, s.saddr >> 64, s.saddr & _LOW64, s.daddr >> 64,
                         s.daddr & _LOW64, s.sport, s.dport, s.seq, s.ack, s.window, s.ttl)
            for s in items]
    return b"".join((_header(SYNACKS), _COUNT.pack(len(body)), *body))


@_refuse_malformed
def unpack_synacks(frame: bytes) -> list[SynAck]:
    (count,) = _COUNT.unpack_from(frame, 2)
    return [SynAck(version, (shi << 64) | slo, (dhi << 64) | dlo, sport, dport, seq, ack, window,
                   ttl)
            for version, shi, slo, dhi, dlo, sport, dport, seq, ack, window, ttl
            in _SYNACK.iter_unpack(frame[6:6 + count * _SYNACK.size])]


# --- captured segments ----------------------------------------------------------------------

# ..., payload length, answer; the payload follows. `answer` marks a SYN-ACK or RST that the
# receiver validated as the answer to one of our stateless SYNs.
_SEGMENT = struct.Struct("<BQQQQHHIIBHBH?")
_WATERMARK = struct.Struct("<d")


def pack_segments(segments: Iterable[Segment], watermark: float,
                  answers: Iterable[bool] | None = None) -> bytes:
    """Segments and the receiver's watermark: every frame captured before that (monotonic)
    time is in this frame or an earlier one. No segments: a tick that only moves the mark."""
    parts = [_header(SEGMENTS), b"", _WATERMARK.pack(watermark)]
    count = 0
    flags = iter(answers) if answers is not None else None
    for s in segments:
        answer = next(flags) if flags is not None else False
        parts.append(_SEGMENT.pack(s.version, s.saddr >> 64, s.saddr & _LOW64, s.daddr >> 64,
                                   s.daddr & _LOW64, s.sport, s.dport, s.seq, s.ack, s.flags,
                                   s.window, s.ttl, len(s.payload), answer))
        parts.append(s.payload)
        count += 1
    parts[1] = _COUNT.pack(count)
    return b"".join(parts)


@_refuse_malformed
def unpack_segments(frame: bytes) -> tuple[list[tuple[Segment, bool]], float]:
    """([(segment, answer), ...], watermark)."""
    (count,) = _COUNT.unpack_from(frame, 2)
    (watermark,) = _WATERMARK.unpack_from(frame, 6)
    offset, out = 6 + _WATERMARK.size, []
    unpack, size = _SEGMENT.unpack_from, _SEGMENT.size
    for _ in range(count):
        (version, shi, slo, dhi, dlo, sport, dport, seq, ack, flags, window, ttl,
         length, answer) = unpack(frame, offset)
        offset += size
        out.append((Segment(version, (shi << 64) | slo, (dhi << 64) | dlo, sport, dport, seq, ack,
                            flags, window, ttl, frame[offset:offset + length]), answer))
        offset += length
    if offset != len(frame):
        raise FrameError(f"segments frame of {len(frame)} bytes, its items end at {offset}")
    return out, watermark


# --- records --------------------------------------------------------------------------------

# sport dport seqnum acknum window ttl counter bits handshake_num timestamp_ns handshakes_tried
# identify_seconds outcome, then six length-prefixed strings.
_RECORD = struct.Struct("<HHIIIBIBHqHdBHHHHHI")
_OUTCOMES = tuple(Outcome)
_OUTCOME_NUMBERS = {outcome: number for number, outcome in enumerate(_OUTCOMES)}
_NO_OUTCOME = 255
# Flag bits, 0 upwards: ack, acked, syn, rst, fin, push, acking_firewall; then no timestamp.
_NO_TIMESTAMP = 0x80


def pack_records(records: Iterable[Record], clock_offset_ns: int = 0) -> bytes:
    """Records whose timestamps the engine took from a monotonic clock: `clock_offset_ns`
    (wall clock minus that clock, measured once) turns them into Unix time on the way."""
    parts = [_header(RECORDS), b""]
    pack, append, count = _RECORD.pack, parts.append, 0
    for r in records:
        bits = (r.ack | r.acked << 1 | r.syn << 2 | r.rst << 3 | r.fin << 4 | r.push << 5
                | r.acking_firewall << 6 | (_NO_TIMESTAMP if r.timestamp_ns is None else 0))
        saddr, daddr, label = r.saddr.encode(), r.daddr.encode(), r.fingerprint.encode()
        expected, handshake, data = r.expected_r_to_lzr.encode(), r.handshake.encode(), r.data
        append(pack(r.sport, r.dport, r.seqnum, r.acknum, r.window, r.ttl, r.counter, bits,
                    r.handshake_num, (r.timestamp_ns or 0) + clock_offset_ns, r.handshakes_tried,
                    math.nan if r.identify_seconds is None else r.identify_seconds,
                    _OUTCOME_NUMBERS.get(r.outcome, _NO_OUTCOME),
                    len(saddr), len(daddr), len(label), len(expected), len(handshake), len(data)))
        parts += (saddr, daddr, label, expected, handshake, data)
        count += 1
    parts[1] = _COUNT.pack(count)
    return b"".join(parts)


@_refuse_malformed
def unpack_records(frame: bytes) -> list[Record]:
    (count,) = _COUNT.unpack_from(frame, 2)
    offset, out = 6, []
    unpack, size, nan = _RECORD.unpack_from, _RECORD.size, math.isnan
    for _ in range(count):
        (sport, dport, seqnum, acknum, window, ttl, counter, bits, handshake_num, timestamp_ns,
         handshakes_tried, identify_seconds, outcome, n_saddr, n_daddr, n_label, n_expected, n_handshake,
         n_data) = unpack(frame, offset)
        offset += size
        saddr = frame[offset:offset + n_saddr].decode()
        offset += n_saddr
        daddr = frame[offset:offset + n_daddr].decode()
        offset += n_daddr
        label = frame[offset:offset + n_label].decode()
        offset += n_label
        expected = frame[offset:offset + n_expected].decode()
        offset += n_expected
        handshake = frame[offset:offset + n_handshake].decode()
        offset += n_handshake
        data = frame[offset:offset + n_data]
        offset += n_data
        out.append(Record(
            saddr, daddr, sport, dport, seqnum, acknum, window, ttl, counter,
            bool(bits & 1), bool(bits & 2), bool(bits & 4), bool(bits & 8), bool(bits & 16),
            bool(bits & 32), handshake_num, label,
            None if bits & _NO_TIMESTAMP else timestamp_ns, expected, data, bool(bits & 64),
            handshake, handshakes_tried, None if nan(identify_seconds) else identify_seconds,
            None if outcome == _NO_OUTCOME else _OUTCOMES[outcome]))
    if offset != len(frame):
        raise FrameError(f"records frame of {len(frame)} bytes, its items end at {offset}")
    return out


# --- small fixed messages -------------------------------------------------------------------

class WorkerStats(NamedTuple):
    worker: int
    sent: int            # packets sent
    synacks: int         # SYN-ACKs received
    data: int            # segments with payload received
    admitted: int        # targets taken up: SYNed (lists), or ZMap's SYN-ACKs
    answered: int        # targets whose SYN a validated SYN-ACK or RST answered
    records: int
    identified: int      # records with a label other than "unknown"
    in_flight: int       # targets with engine state
    pending: int         # targets received but not yet SYNed
    unanswered_held: int  # SYNed targets waiting for an answer (lists)
    finished_before: float  # every answer captured before this (monotonic) time has its record
    backlog: float       # seconds the connections queued at their addresses need to start
    done: bool


class WorkerDone(NamedTuple):
    worker: int
    syned: int           # targets this worker SYNed itself (lists)
    answered: int


class SenderStats(NamedTuple):
    sender: int
    targets: int         # targets SYNed (first pass)
    packets: int         # SYNs sent, retransmissions included
    done: bool


class FeederStats(NamedTuple):
    lines: int
    targets: int         # targets sent to workers
    malformed: int
    blocked: int
    total: int           # size of the target space when known (ranges), else 0
    finished: bool       # input exhausted (or stopped) and INPUT_END sent


class InputCounts(NamedTuple):
    malformed: int
    blocked: int
    targets: int         # targets SYNed by the sending process (range scans' senders), else 0


class Credit(NamedTuple):
    worker: int
    taken: int           # targets admitted (or dropped by a STOP) so far


class Ready(NamedTuple):
    role: int            # worker index, or READY_RECEIVER


READY_RECEIVER = 0xFFFF


class WriterStats(NamedTuple):
    written: int
    counted: int
    finished_before: float  # every answer captured before this has its record in the output


class ReceiverStats(NamedTuple):
    frames: int
    routed: int
    dropped: int         # not ours, or from blocked sources
    forged: int          # claimed to answer our SYNs and did not validate
    capture_drops: int   # frames the kernel dropped for lack of room (PACKET_STATISTICS)
    final: bool          # the capture is over: these counts are the scan's


class SynsDone(NamedTuple):
    sender: int
    last_syn_at: float   # monotonic time the sender's last SYN went out


class Hold(NamedTuple):
    worker: int
    holding: bool        # at the cap of targets in flight: send no new targets


class Watermark(NamedTuple):
    worker: int
    finished_before: float


_STATS = {
    WORKER_STATS: (WorkerStats, struct.Struct("<H10Qdd?")),
    WORKER_DONE: (WorkerDone, struct.Struct("<H2Q")),
    SENDER_STATS: (SenderStats, struct.Struct("<H2Q?")),
    FEEDER_STATS: (FeederStats, struct.Struct("<5Q?")),
    WRITER_STATS: (WriterStats, struct.Struct("<2Qd")),
    RECEIVER_STATS: (ReceiverStats, struct.Struct("<5Q?")),
    INPUT_COUNTS: (InputCounts, struct.Struct("<3Q")),
    READY: (Ready, struct.Struct("<H")),
    CREDIT: (Credit, struct.Struct("<HQ")),
    SYNS_DONE: (SynsDone, struct.Struct("<Hd")),
    HOLD: (Hold, struct.Struct("<H?")),
    WATERMARK: (Watermark, struct.Struct("<Hd")),
}
_STATS_KIND = {cls: kind for kind, (cls, _) in _STATS.items()}


def pack_stats(stats) -> bytes:
    """Any of the fixed-size NamedTuple messages above."""
    kind = _STATS_KIND[type(stats)]
    return _header(kind) + _STATS[kind][1].pack(*stats)


@_refuse_malformed
def unpack_stats(frame: bytes):
    cls, layout = _STATS[kind_of(frame)]
    return cls(*layout.unpack_from(frame, 2))


def pack_text(kind: int, text: str) -> bytes:
    """SUMMARY and FAILED carry one UTF-8 text."""
    return _header(kind) + text.encode()


def unpack_text(frame: bytes) -> str:
    return frame[2:].decode(errors="replace")


# --- checkpoints ----------------------------------------------------------------------------

class SenderMark(NamedTuple):
    """A sender's stream has had its last SYN pass for chunks 0..chunks-1 (each of them
    retransmitted -rn times) by monotonic time `at`; they held `targets` targets. `final`:
    the stream has no chunks beyond."""

    chunks: int
    targets: int
    at: float
    final: bool


_MARK = struct.Struct("<QQd?")


def pack_sender_marks(sender: int, marks: Iterable[SenderMark]) -> bytes:
    items = [_MARK.pack(*mark) for mark in marks]
    return b"".join((_header(SENDER_MARKS), struct.pack("<HI", sender, len(items)), *items))


@_refuse_malformed
def unpack_sender_marks(frame: bytes) -> tuple[int, list[SenderMark]]:
    sender, count = struct.unpack_from("<HI", frame, 2)
    body = frame[8:]
    if len(body) != count * _MARK.size:
        raise FrameError(f"marks frame of {len(frame)} bytes does not hold {count} marks")
    return sender, [SenderMark(*fields) for fields in _MARK.iter_unpack(body)]


# --- flow announcements (worker -> RST guard) ------------------------------------------------

FLOW_OPEN, FLOW_CLOSE = 1, 0
_FLOW = struct.Struct("<BQQHH")                  # operation, addr hi, addr lo, target port, local port


def pack_flows(flows: Iterable[tuple[int, int, int, int]]) -> bytes:
    """flows: (FLOW_OPEN or FLOW_CLOSE, target address, target port, local port)."""
    items = [_FLOW.pack(operation, addr >> 64, addr & _LOW64, target_port, local_port)
             for operation, addr, target_port, local_port in flows]
    return b"".join((_header(FLOWS), _COUNT.pack(len(items)), *items))


def unpack_flows(frame: bytes) -> list[tuple[int, int, int, int]]:
    """The flows of a FLOWS frame; FrameError if it is anything else or malformed (the guard
    reads from a socket any local process could write to)."""
    if kind_of(frame) != FLOWS or len(frame) < 6:
        raise FrameError("not a flow announcement")
    (count,) = _COUNT.unpack_from(frame, 2)
    if len(frame) != 6 + count * _FLOW.size:
        raise FrameError(f"frame of {len(frame)} bytes does not hold {count} flows")
    flows = []
    for operation, hi, lo, target_port, local_port in _FLOW.iter_unpack(frame[6:]):
        if operation not in (FLOW_OPEN, FLOW_CLOSE):
            raise FrameError(f"unknown flow operation {operation}")
        flows.append((operation, (hi << 64) | lo, target_port, local_port))
    return flows


# --- neighbour requests (worker -> coordinator) ---------------------------------------------

_ADDRESS = struct.Struct("<QQ")                  # addr hi, addr lo


def pack_neighbours(addrs: Iterable[int]) -> bytes:
    items = [_ADDRESS.pack(addr >> 64, addr & _LOW64) for addr in addrs]
    return b"".join((_header(NEIGHBOURS), _COUNT.pack(len(items)), *items))


@_refuse_malformed
def unpack_neighbours(frame: bytes) -> list[int]:
    (count,) = _COUNT.unpack_from(frame, 2)
    if kind_of(frame) != NEIGHBOURS or len(frame) != 6 + count * _ADDRESS.size:
        raise FrameError("not a neighbour request")
    return [(hi << 64) | lo for hi, lo in _ADDRESS.iter_unpack(frame[6:])]
