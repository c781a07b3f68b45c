"""The scan's inter-process frames read back exactly what was packed (no root needed)."""
import itertools

import pytest

from lzr.output.record import Outcome, Record
from lzr.runtime import frames
from lzr.targets.types import SynAck
from lzr.wire.segment import Segment


def test_records_round_trip_every_flag_and_optional_field():
    records = [
        Record(saddr="10.0.0.1", daddr="fd00:0000:0000:0000:0000:0000:0000:0002", sport=80,
               dport=40000, seqnum=2**32 - 1, acknum=7, window=65535, ttl=255, counter=3,
               ack=bits[0], acked=bits[1], syn=bits[2], rst=bits[3], fin=bits[4], push=bits[5],
               handshake_num=2, fingerprint="smtp-ftp", timestamp_ns=None if bits[6] else 10**18,
               expected_r_to_lzr="data" if bits[0] else "", data=b"\x00\xff<html>" * bits[1],
               acking_firewall=bits[6], handshake="http" if bits[2] else "",
               handshakes_tried=bits[3] * 4, identify_seconds=None if bits[4] else 0.25,
               outcome=None if bits[5] else list(Outcome)[sum(bits) % len(Outcome)])
        for bits in itertools.product((False, True), repeat=7)]
    assert frames.unpack_records(frames.pack_records(records)) == records


def test_segments_targets_and_stats_round_trip():
    segments = [Segment(6, (1 << 128) - 1, 5, 80, 1234, 7, 8, 0x12, 100, 64, b"abc"),
                Segment(4, 0x0A000001, 0x0A000002, 1, 65535, 0, 2**32 - 1, 0x04, 0, 1, b"")]
    packed = frames.pack_segments(segments, 12.5, [True, False])
    assert frames.unpack_segments(packed) == (list(zip(segments, [True, False])), 12.5)
    assert frames.unpack_segments(frames.pack_segments((), float("-inf"))) == ([], float("-inf"))
    targets = [(1 << 127, 5), (0x0A000001, 65535)]
    assert frames.unpack_targets(frames.pack_targets(targets)) == targets
    synacks = [SynAck(6, (1 << 128) - 1, 5, 8080, 40000, 2**32 - 1, 1, 0, 64)]
    assert frames.unpack_synacks(frames.pack_synacks(synacks)) == synacks
    for stats in (frames.WorkerStats(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.25, 3.5, True),
                  frames.SenderStats(2, 10**12, 2 * 10**12, False), frames.SynsDone(1, 3.5),
                  frames.WorkerDone(0, 7, 3), frames.InputCounts(1, 2, 3),
                  frames.ReceiverStats(1, 2, 3, 4, 5, True), frames.Hold(2, True),
                  frames.Watermark(1, 7.25), frames.WriterStats(1, 2, float("-inf"))):
        assert frames.unpack_stats(frames.pack_stats(stats)) == stats
    marks = [frames.SenderMark(3, 900, 10.5, False), frames.SenderMark(4, 1000, 11.0, True)]
    assert frames.unpack_sender_marks(frames.pack_sender_marks(1, marks)) == (1, marks)


def test_record_timestamps_move_by_the_clock_offset():
    record = Record(saddr="10.0.0.1", daddr="10.0.0.2", sport=80, dport=40000, seqnum=1, acknum=2,
                    window=3, ttl=4, counter=0, ack=True, acked=False, syn=False, rst=False,
                    fin=False, push=False, handshake_num=0, fingerprint="unknown",
                    timestamp_ns=5_000_000_000)
    (moved,) = frames.unpack_records(frames.pack_records([record], clock_offset_ns=10**18))
    assert moved.timestamp_ns == 10**18 + 5_000_000_000


def test_a_frame_of_another_version_is_refused():
    frame = bytearray(frames.empty(frames.STOP))
    frame[0] = frames.FRAME_VERSION + 1
    with pytest.raises(frames.FrameError):
        frames.kind_of(bytes(frame))
