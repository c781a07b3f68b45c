"""Hostile bytes: the parsers return a Segment or None, or raise MalformedPacket, nothing else."""
from hypothesis import given, settings, strategies as st

from lzr.wire import ACK, PSH, FrameBuilder, MalformedPacket, Segment, parse_frame, parse_ip
from lzr.wire.parse import _parse_ethernet

V4_BUILDER = FrameBuilder(b"\x02" * 6, b"\x04" * 6, 0xC0000201, 4)
V6_BUILDER = FrameBuilder(b"\x02" * 6, b"\x04" * 6, 0x20010DB8 << 96 | 1, 6)

ETHERTYPES = st.sampled_from([b"\x08\x00", b"\x86\xdd", b"\x81\x00\x00\x01\x08\x00", b"\x81\x00\x00\x01\x86\xdd"])


def outcome(parse, data: bytes):
    try:
        result = parse(data)
    except MalformedPacket as error:
        assert error.reason.value in str(error)
        return error
    assert result is None or isinstance(result, Segment)
    if result is not None:
        assert len(result.payload) <= len(data)
    return result


@st.composite
def valid_frames(draw) -> bytes:
    builder = draw(st.sampled_from([V4_BUILDER, V6_BUILDER]))
    dst = draw(st.integers(0, 2**32 - 1)) if builder is V4_BUILDER else draw(st.integers(0, 2**128 - 1))
    return builder.segment(dst, draw(st.integers(0, 65535)), draw(st.integers(0, 65535)),
                           draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1)),
                           PSH | ACK, draw(st.integers(0, 65535)), draw(st.binary(max_size=64)))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data):
    outcome(parse_frame, data)
    outcome(parse_ip, data)


@settings(max_examples=300, deadline=None)
@given(ETHERTYPES, st.binary(max_size=120))
def test_random_bytes_after_an_ip_ethertype(ethertype, rest):
    outcome(parse_frame, b"\x00" * 12 + ethertype + rest)


@settings(max_examples=300, deadline=None)
@given(valid_frames(), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
       st.integers(0, 200))
def test_mutated_and_truncated_frames(frame, flips, keep):
    data = bytearray(frame)
    for position, value in flips:
        data[position % len(data)] = value
    outcome(parse_frame, bytes(data))
    outcome(parse_frame, bytes(data[:keep]))
    outcome(parse_ip, bytes(data[14:14 + keep]))


@settings(max_examples=200, deadline=None)
@given(version=st.sampled_from([4, 6]), sport=st.integers(0, 65535), dport=st.integers(0, 65535),
       seq=st.integers(0, 2**32 - 1), ack=st.integers(0, 2**32 - 1), flags=st.integers(0, 255),
       window=st.integers(0, 65535), payload=st.binary(max_size=100), data=st.data())
def test_parse_reads_back_what_build_wrote(version, sport, dport, seq, ack, flags, window, payload, data):
    builder = V4_BUILDER if version == 4 else V6_BUILDER
    dst = data.draw(st.integers(0, 2**32 - 1) if version == 4 else st.integers(0, 2**128 - 1))
    frame = builder.segment(dst, sport, dport, seq, ack, flags, window, payload)
    assert parse_frame(frame) == Segment(version, builder.src_ip, dst, sport, dport, seq, ack, flags, window,
                                         64, payload, builder.src_mac, builder.dst_mac)


def verdict(parse, data: bytes):
    try:
        return parse(data)
    except MalformedPacket as error:
        return error.reason, error.layer


@settings(max_examples=300, deadline=None)
@given(valid_frames(), st.lists(st.tuples(st.integers(12, 60), st.integers(0, 255)), max_size=4),
       st.integers(0, 120))
def test_fast_path_agrees_with_the_general_parser(frame, flips, keep):
    """parse_frame reads plain IPv4 frames in one unpack; on any bytes it must answer exactly
    as the general Ethernet parser does."""
    data = bytearray(frame)
    for position, value in flips:
        if position < len(data):
            data[position] = value
    for candidate in (bytes(data), bytes(data[:keep])):
        assert verdict(parse_frame, candidate) == verdict(_parse_ethernet, candidate)
