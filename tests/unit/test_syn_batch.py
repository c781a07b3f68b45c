"""SYN batches are byte for byte the frames FrameBuilder makes one at a time."""
import numpy as np
import pytest

from lzr.runtime.syn_batch import SynBatch
from lzr.wire import FrameBuilder, parse_frame
from lzr.wire.segment import SYN

SRC_MAC, DST_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


@pytest.mark.parametrize("version, source", [(4, 0x0A000001), (6, (0xFD << 120) + 1)])
def test_batches_match_the_frame_builder(version, source):
    rng = np.random.default_rng(version)
    count = 500
    if version == 4:
        addrs = rng.integers(0, 2**32, count, dtype=np.uint64).astype(np.uint32)
        addr_ints = addrs.tolist()
    else:
        addrs = rng.integers(0, 2**64, (count, 2), dtype=np.uint64)
        addr_ints = [high << 64 | low for high, low in addrs.tolist()]
    ports = rng.integers(1, 65536, count).astype(np.uint16)
    lports = rng.integers(32768, 61000, count).astype(np.uint16)
    isns = rng.integers(0, 2**32, count, dtype=np.uint64).astype(np.uint32)
    batch = SynBatch(SRC_MAC, DST_MAC, source, version, 512)
    rows = batch.build(addrs, ports, lports, isns)
    builder = FrameBuilder(SRC_MAC, DST_MAC, source, version)
    for row, addr, port, lport, isn in zip(rows, addr_ints, ports.tolist(), lports.tolist(),
                                          isns.tolist()):
        assert row.tobytes() == builder.syn(addr, lport, port, isn)
    segment = parse_frame(rows[0].tobytes())
    assert (segment.flags, segment.daddr, segment.sport, segment.dport) == (
        SYN, addr_ints[0], lports.tolist()[0], ports.tolist()[0])


def test_directly_connected_targets_get_their_own_macs():
    batch = SynBatch(SRC_MAC, None, 0x0A000001, 4, 4)
    macs = np.array([[2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 8]], np.uint8)
    rows = batch.build(np.array([1, 2], np.uint32), np.array([80, 81], np.uint16),
                       np.array([40000, 40001], np.uint16), np.array([5, 6], np.uint32), macs)
    assert [row[:6].tobytes() for row in rows] == [bytes(m) for m in macs.tolist()]


def test_a_batch_larger_than_the_buffer_is_refused():
    batch = SynBatch(SRC_MAC, DST_MAC, 0x0A000001, 4, 2)
    with pytest.raises(ValueError):
        batch.build(np.zeros(3, np.uint32), np.zeros(3, np.uint16), np.zeros(3, np.uint16),
                    np.zeros(3, np.uint32))
