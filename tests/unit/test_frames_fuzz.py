"""Hypothesis fuzzing of the inter-process frames: a reader gets a value or FrameError, never
any other exception, from arbitrary bytes and from valid frames that were cut or changed."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lzr.output.record import Record
from lzr.runtime import frames
from lzr.targets.types import SynAck
from lzr.wire.segment import Segment

UNPACKERS = (frames.kind_of, frames.unpack_targets, frames.unpack_synacks,
             frames.unpack_segments, frames.unpack_records, frames.unpack_stats,
             frames.unpack_text, frames.unpack_sender_marks, frames.unpack_flows,
             frames.unpack_neighbours)

RECORD = Record("192.0.2.7", "198.51.100.1", 8080, 40000, 1, 2, 65535, 64, 1, True, True, False,
                False, False, True, 1, "http", 123, "sa", b"HTTP/1.1 200 OK\r\n", False, "http", 1,
                0.5)
VALID = [
    frames.pack_targets([(0xC0000207, 80), ((1 << 127) | 5, 443)]),
    frames.pack_synacks([SynAck(4, 1, 2, 80, 40000, 5, 6, 65535, 64)]),
    frames.pack_segments([Segment(4, 1, 2, 80, 40000, 5, 6, 0x12, 65535, 64, b"payload")], 1.5,
                         [True]),
    frames.pack_records([RECORD]),
    frames.pack_stats(frames.WorkerStats(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5, 0.5, True)),
    frames.pack_stats(frames.SynsDone(0, 3.25)),
    frames.pack_stats(frames.Credit(1, 2)),
    frames.pack_text(frames.FAILED, "worker0: boom \u00e9"),
    frames.pack_sender_marks(1, [frames.SenderMark(3, 900, 10.5, False)]),
    frames.pack_flows([(frames.FLOW_OPEN, 7, 80, 40001)]),
    frames.pack_neighbours([0xC0000207, (1 << 127) | 5]),
    frames.empty(frames.STOP),
]


def read_every_way(frame: bytes) -> None:
    for unpack in UNPACKERS:
        try:
            unpack(frame)
        except frames.FrameError:
            pass


def test_valid_frames_read_back():
    assert frames.unpack_records(VALID[3]) == [RECORD]
    assert frames.unpack_targets(VALID[0]) == [(0xC0000207, 80), ((1 << 127) | 5, 443)]
    assert frames.unpack_neighbours(VALID[-2]) == [0xC0000207, (1 << 127) | 5]


@settings(deadline=None, max_examples=500)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(frame):
    read_every_way(frame)
    read_every_way(bytes([frames.FRAME_VERSION]) + frame)


@settings(deadline=None, max_examples=500)
@given(st.sampled_from(VALID), st.integers(0, 400),
       st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6))
def test_cut_and_changed_valid_frames(frame, keep, changes):
    changed = bytearray(frame[:keep])
    for position, value in changes:
        if position < len(changed):
            changed[position] = value
    read_every_way(bytes(changed))


@pytest.mark.parametrize("unpack, frame", [
    (frames.unpack_records, frames.pack_records([RECORD])[:-3]),            # cut in the payload
    (frames.unpack_records, frames.pack_records([RECORD]).replace(b"http", b"\xff\xfett")),
    (frames.unpack_segments, frames.pack_segments([], 0.0)[:3]),            # cut in the count
    (frames.unpack_targets, frames.pack_targets([(1, 80)])[:-1]),
    (frames.unpack_stats, bytes([frames.FRAME_VERSION, 200])),              # a kind nobody sends
    (frames.unpack_sender_marks,
     frames.pack_sender_marks(0, [frames.SenderMark(1, 2, 3.0, True)])[:-1]),
])
def test_malformed_frames_are_frame_errors(unpack, frame):
    with pytest.raises(frames.FrameError):
        unpack(frame)
