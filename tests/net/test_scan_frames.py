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
    assert frames.unpack_segments(frames.pack_segments(segments)) == segments
    targets = [(1 << 127, 5), (0x0A000001, 65535)]
    assert frames.unpack_targets(frames.pack_targets(targets)) == targets
    synacks = [SynAck(6, (1 << 128) - 1, 5, 8080, 40000, 2**32 - 1, 1, 0, 64)]
    assert frames.unpack_synacks(frames.pack_synacks(synacks)) == synacks
    stats = frames.WorkerStats(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, True)
    assert frames.unpack_stats(frames.pack_stats(stats)) == stats
    mark = frames.CheckpointMark((3, 0, 9), '{"lzr_checkpoint":1}')
    assert frames.unpack_checkpoint_mark(frames.pack_checkpoint_mark(mark)) == mark


def test_a_frame_of_another_version_is_refused():
    frame = bytearray(frames.empty(frames.STOP))
    frame[0] = frames.FRAME_VERSION + 1
    with pytest.raises(frames.FrameError):
        frames.kind_of(bytes(frame))
