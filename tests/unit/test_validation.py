"""Stateless validation: SipHash against its published vectors, the numpy form against the
scalar one, and what the receiver lets through."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from lzr.runtime.validation import (ANSWER, FORGED, SEGMENT, Validation, siphash,
                                    siphash_many)
from lzr.wire.segment import ACK, FIN, PSH, RST, SYN, Segment

KEY = bytes(range(16))
SCANNER = 0x0A000001
V4 = Validation(KEY, 4, range(40000, 44000))


def test_siphash_2_4_matches_the_papers_vectors():
    assert siphash(KEY, b"", 2, 4) == 0x726FDB47DD0E0E31
    assert siphash(KEY, bytes(range(15)), 2, 4) == 0xA129CA6149BE45E5


@pytest.mark.parametrize("length", [0, 6, 8, 18])
def test_the_numpy_form_is_the_reference_definition(length):
    rng = np.random.default_rng(length)
    messages = [rng.bytes(length) for _ in range(50)]
    blocks = []
    whole = length - length % 8
    for start in range(0, whole, 8):
        blocks.append(np.array([int.from_bytes(m[start:start + 8], "little") for m in messages],
                               np.uint64))
    blocks.append(np.array([int.from_bytes(m[whole:], "little") | length << 56 for m in messages],
                           np.uint64))
    k0, k1 = int.from_bytes(KEY[:8], "little"), int.from_bytes(KEY[8:], "little")
    for c, d in ((1, 3), (2, 4)):
        assert siphash_many(k0, k1, blocks, c, d).tolist() == [siphash(KEY, m, c, d) for m in messages]


@pytest.mark.parametrize("version, ports", [(4, range(40000, 44000)), (6, range(33000, 33100))])
@given(data=st.data())
def test_syns_are_the_hash_of_address_and_port(version, ports, data):
    validation, width = Validation(KEY, version, ports), 4 if version == 4 else 16
    targets = data.draw(st.lists(st.tuples(st.integers(0, 2**(8 * width) - 1),
                                           st.integers(0, 65535)), min_size=1, max_size=40))
    if version == 4:
        addrs = np.array([a for a, _ in targets], np.uint32)
    else:
        addrs = np.array([(a >> 64, a & (2**64 - 1)) for a, _ in targets], np.uint64).reshape(-1, 2)
    lports, isns = validation.expect_many(addrs, np.array([p for _, p in targets], np.uint16))
    for (addr, port), lport, isn in zip(targets, lports.tolist(), isns.tolist()):
        digest = siphash(KEY, addr.to_bytes(width, "little") + port.to_bytes(2, "little"))
        assert (lport, isn) == validation.expect(addr, port) == (
            ports[(digest >> 32) % len(ports)], digest & 0xFFFFFFFF)


def reply(flags: int, ack_offset: int = 1, port_offset: int = 0, payload: bytes = b"",
          addr: int = 0x0A000002, port: int = 80) -> Segment:
    lport, isn = V4.expect(addr, port)
    return Segment(4, addr, SCANNER, port, lport + port_offset, 777,
                   (isn + ack_offset) & 0xFFFFFFFF, flags, 1000, 64, payload)


@pytest.mark.parametrize("segment, kind", [
    (reply(SYN | ACK), ANSWER),
    (reply(RST | ACK), ANSWER),                          # refused: a closed port
    (reply(SYN | ACK, ack_offset=2), FORGED),            # wrong ack
    (reply(SYN | ACK, ack_offset=0), FORGED),
    (reply(RST | ACK, ack_offset=5000), FORGED),
    (reply(SYN | ACK, port_offset=1), FORGED),           # right ack, wrong local port
    (reply(SYN), FORGED),                                # no ACK: answers nothing
    (reply(SYN | RST | ACK), FORGED),
    (reply(ACK, ack_offset=1 + 120), SEGMENT),           # ACKs our 120-byte probe
    (reply(PSH | ACK, ack_offset=1 + 120, payload=b"HTTP/1.1 200 OK\r\n"), SEGMENT),
    (reply(FIN | ACK, ack_offset=1 + 200), SEGMENT),
    (reply(RST | ACK, ack_offset=1 + 120), SEGMENT),     # a RST of the live connection
    (reply(ACK, ack_offset=1 + 201), FORGED),            # acknowledges more than we sent
    (reply(RST, ack_offset=99), SEGMENT),                # a bare RST: the engine decides
    (Segment(4, 0x0A000002, SCANNER, 80, 50000, 1, 2, SYN | ACK, 1, 64, b""), SEGMENT),
])
def test_what_the_receiver_lets_through(segment, kind):
    assert V4.classify(segment, max_sent=200) == kind


def test_the_rst_guard_owns_exactly_the_stateless_flows():
    lport, _ = V4.expect(0x0A000002, 80)
    assert V4.owns_flow(0x0A000002, 80, lport)
    assert not V4.owns_flow(0x0A000002, 80, lport + 1 if lport + 1 < 44000 else lport - 1)
    assert not V4.owns_flow(0x0A000002, 80, 50000)
