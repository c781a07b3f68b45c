"""The SYN ledger's storage: list-input targets packed per block, byte for byte.

Every address and port comes back exactly, in order; each column costs what its layout says
(a table of shared upper parts where that is cheaper, raw values where it is not); the ledger
stays within 16 bytes per IPv6 target when a block's addresses share their /64s or /48, and
spills to 18 (the raw width) only where nothing is shared; the records of unanswered targets
are the ones the raw targets give.
"""
import sys
import tracemalloc

import numpy as np
import pytest

from lzr.config import ScanConfig
from lzr.engine import Engine
from lzr.runtime import worker_core
from lzr.runtime.packed_targets import pack_targets, packed_count, unpack_targets
from lzr.runtime.syn_batch import key_arrays
from lzr.runtime.validation import Validation
from lzr.runtime.worker_core import SynLedger, WorkerCore

HEADER, COLUMN = 5, 5           # the batch's header (version, count); each column's
BYTES_OBJECT = sys.getsizeof(b"")
DOC = 0x20010DB8 << 96          # 2001:db8::/32
ALL = (1 << 128) - 1


def v6(prefixes: list[int], count: int, rng, ports=None) -> list[tuple[int, int]]:
    """`count` targets with random host halves in the given /64s, random ports unless given."""
    return [(prefixes[int(rng.integers(len(prefixes)))] << 64
             | int(rng.integers(0, 1 << 64, dtype=np.uint64)),
             ports[int(rng.integers(len(ports)))] if ports else int(rng.integers(0, 1 << 16)))
            for _ in range(count)]


def packed(version: int, targets: list[tuple[int, int]]) -> bytes:
    return pack_targets(*key_arrays(version, targets))


def round_trip(version: int, targets: list[tuple[int, int]]) -> bytes:
    addrs, ports = key_arrays(version, targets)
    data = pack_targets(addrs, ports)
    back_addrs, back_ports = unpack_targets(data)
    assert back_addrs.dtype == addrs.dtype and back_addrs.shape == addrs.shape
    assert back_ports.dtype == ports.dtype and back_ports.shape == ports.shape
    assert np.array_equal(back_addrs, addrs) and np.array_equal(back_ports, ports)
    assert packed_count(data) == len(targets)
    return data


# -- every address and port back, in order ---------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_random_blocks_come_back_exactly(seed):
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 3000))
    prefixes = [int(p) for p in rng.integers(0, 1 << 64, int(rng.integers(1, 600)), np.uint64)]
    ports = [int(p) for p in rng.integers(0, 1 << 16, int(rng.integers(1, 400)))]
    round_trip(6, v6(prefixes, count, rng, ports if seed % 2 else None))
    round_trip(4, [(int(a), int(p)) for a, p in zip(
        rng.integers(0, 1 << 32, count, np.uint64) >> np.uint64(int(rng.integers(0, 32))),
        rng.integers(0, 1 << 16, count))])


def test_extreme_values_and_sizes_come_back_exactly():
    for version, top in ((4, (1 << 32) - 1), (6, ALL)):
        round_trip(version, [])
        round_trip(version, [(top, 65535)])
        round_trip(version, [(0, 0), (top, 65535), (0, 65535), (top, 0), (1, 1)])
    # Index widths at their limits: 256 and 257 distinct /64s, 65536 and 65537 distinct ports.
    rng = np.random.default_rng(1)
    for distinct in (256, 257):
        round_trip(6, v6([(DOC >> 64) | n for n in range(distinct)], 4 * distinct, rng, [80]))
    round_trip(4, [(7, port) for port in range(1 << 16)] + [(8, 80)])
    everything = [(DOC | (n << 64) | n, n % 65536) for n in range(70000)]
    round_trip(6, everything[::-1])


# -- bytes: each column's layout ----------------------------------------------------------------

def test_ipv4_raw_is_six_bytes_a_target():
    rng = np.random.default_rng(2)
    targets = [(int(a), int(p)) for a, p in zip(rng.integers(0, 1 << 32, 1000, np.uint64),
                                                rng.integers(0, 1 << 16, 1000))]
    assert len(round_trip(4, targets)) == HEADER + 2 * COLUMN + 6 * 1000


def test_ipv4_one_port_and_one_slash16_cost_two_bytes_a_target():
    targets = [((10 << 24) | (240 << 16) | n, 443) for n in range(1000)]
    # address: the /16 once (2 bytes), no index, the lower 2 bytes raw; port: once, no index
    assert len(round_trip(4, targets)) == HEADER + (COLUMN + 2 + 2 * 1000) + (COLUMN + 2)


def test_ipv6_one_slash64_and_one_port_keep_only_the_host_half():
    targets = v6([DOC >> 64], 1000, np.random.default_rng(3), [80])
    assert len(round_trip(6, targets)) == (HEADER + (COLUMN + 8) + (COLUMN + 8 * 1000)
                                           + (COLUMN + 2))


def test_ipv6_few_prefixes_take_a_one_byte_index_and_random_ports_stay_raw():
    prefixes = [(DOC >> 64) | n << 8 for n in range(16)]
    targets = v6(prefixes, 1000, np.random.default_rng(4))
    assert len({addr >> 64 for addr, _ in targets}) == 16
    assert len(round_trip(6, targets)) == (HEADER + (COLUMN + 16 * 8 + 1000) + (COLUMN + 8 * 1000)
                                           + (COLUMN + 2 * 1000))


def test_ipv6_slash64s_spread_over_a_slash48_intern_the_slash48():
    targets = [(DOC | n << 64 | 1, 443) for n in range(1000)]      # 2001:db8:0:n::1
    # upper half: the /48 once, its last 2 bytes raw; lower half: ::1 once; one port
    assert len(round_trip(6, targets)) == (HEADER + (COLUMN + 6 + 2 * 1000) + (COLUMN + 8)
                                           + (COLUMN + 2))


def test_ipv6_worst_case_spills_to_the_raw_18_bytes_and_no_more():
    rng = np.random.default_rng(5)
    count = 1000
    targets = [(int(a) << 64 | int(b), int(p)) for a, b, p in zip(
        rng.permutation(1 << 20)[:count].astype(np.uint64) << np.uint64(44), rng.integers(0, 1 << 64, count, np.uint64),
        rng.permutation(1 << 16)[:count])]
    # Every /64, every upper 16 bits and every port distinct: a table would cost more than
    # it saves, so each column is raw.
    assert len(round_trip(6, targets)) == HEADER + 3 * COLUMN + 18 * count


@pytest.mark.parametrize("distinct, interned", ((250, True), (350, False)))
def test_a_prefix_table_is_taken_only_when_it_is_cheaper_than_raw(distinct, interned):
    # 400 targets on 250 /64s: a table of 250 × 8 bytes and 1-byte indices (2400 bytes) beat
    # 8 raw bytes each (3200); on 350 /64s the table and 2-byte indices (3600) do not.
    rng = np.random.default_rng(6)
    prefixes = [int(p) for p in rng.integers(0, 1 << 64, distinct, np.uint64)]
    targets = [(prefixes[n % distinct] << 64 | 1, 80) for n in range(400)]
    upper = distinct * 8 + 400 * (1 if distinct <= 256 else 2) if interned else 8 * 400
    assert len(round_trip(6, targets)) == (HEADER + (COLUMN + upper) + (COLUMN + 8)
                                           + (COLUMN + 2))


# -- the ledger -------------------------------------------------------------------------------

def ledger_of(version: int, blocks: list[list[tuple[int, int]]]) -> SynLedger:
    ledger = SynLedger(1.0, 1.0, 1)
    for index, targets in enumerate(blocks):
        ledger.add(*key_arrays(version, targets), 0.001 * index)
    return ledger


def test_ledger_bytes_per_target_ipv4_and_ipv6():
    rng = np.random.default_rng(7)
    block = 250
    v4 = [[(int(a), int(p)) for a, p in zip(rng.integers(0, 1 << 32, block, np.uint64),
                                            rng.integers(1, 1 << 16, block))] for _ in range(8)]
    few = [v6([(DOC >> 64) | n for n in range(4)], block, rng) for _ in range(8)]
    many = [[(int(a) << 64 | int(b), int(p)) for a, b, p in zip(
        rng.integers(0, 1 << 64, block, np.uint64), rng.integers(0, 1 << 64, block, np.uint64),
        rng.permutation(1 << 16)[:block])] for _ in range(8)]
    per_block = BYTES_OBJECT + HEADER + 3 * COLUMN
    assert ledger_of(4, v4).bytes_per_target() == pytest.approx(6 + (per_block - COLUMN) / block)
    assert ledger_of(6, few).bytes_per_target() == pytest.approx(11 + (per_block + 4 * 8) / block)
    assert ledger_of(6, many).bytes_per_target() == pytest.approx(18 + per_block / block)


def test_ledger_memory_of_clustered_ipv6_stays_within_16_bytes_a_target():
    """All the ledger allocates, as the allocator sees it: the packed targets, their blocks'
    times and queues, for 40 blocks of 250 IPv6 targets in four /64s on random ports."""
    rng = np.random.default_rng(8)
    blocks = [v6([(DOC >> 64) | n for n in range(4)], 250, rng) for _ in range(40)]
    ledger = SynLedger(1.0, 1.0, 1)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index, targets in enumerate(blocks):
            ledger.add(*key_arrays(6, targets), 0.001 * index + 0.5)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert ledger.held == 40 * 250
    assert held / ledger.held <= 16


def test_blocks_give_back_their_targets():
    targets = v6([DOC >> 64, (DOC >> 64) + 1], 300, np.random.default_rng(9))
    addrs, ports = key_arrays(6, targets)
    ledger = SynLedger(1.0, 1.0, 0)
    ledger.add(addrs, ports, 0.0)
    (block,) = ledger.expired(float("inf"))
    assert len(block) == 300
    unpacked_addrs, unpacked_ports = block.unpacked()
    assert np.array_equal(unpacked_addrs, addrs) and np.array_equal(unpacked_ports, ports)


# -- records unchanged ------------------------------------------------------------------------

def unanswered_records(cfg: ScanConfig, targets: list[tuple[int, int]]) -> list:
    engine = Engine(cfg.engine_config(), cfg.version, 1 if cfg.version == 4 else DOC | 1,
                    range(50000, 50100), seed=1)
    validation = Validation(bytes(range(16)), cfg.version, range(40000, 41000))
    core = WorkerCore(cfg, engine, validation, 0, 10**6, now=0.0)
    core.targets(targets)
    now = 0.0
    while core.pending:
        now += 0.01
        core.advance(now)
    core.input_ended()
    core.segments([], watermark=now + 10, now=now + 10)
    core.advance(now + 10)
    return core.take_records()


@pytest.mark.parametrize("version", (4, 6))
def test_records_of_unanswered_targets_are_those_of_the_raw_targets(version, monkeypatch):
    rng = np.random.default_rng(10)
    if version == 6:
        targets = v6([DOC >> 64, (DOC >> 64) + 7, 0xFD00 << 48], 3000, rng, [80, 443, 8080])
        targets += [(0, 0), (ALL, 65535), (DOC | 1, 1)]
    else:
        targets = [(int(a), int(p)) for a, p in zip(rng.integers(0, 1 << 32, 3000, np.uint64),
                                                    rng.integers(0, 1 << 16, 3000))]
    cfg = ScanConfig(send_syns=True, ipv6=version == 6, timeout=1.0, retries=1, rate=100000,
                     workers=1)
    records = unanswered_records(cfg, targets)
    # The same scan with the targets kept as they come, unpacked (the ledger's former layout).
    monkeypatch.setattr(worker_core, "pack_targets", lambda addrs, ports: (addrs, ports))
    monkeypatch.setattr(worker_core, "unpack_targets", lambda targets: targets)
    monkeypatch.setattr(worker_core, "packed_count", lambda targets: len(targets[1]))
    assert len(records) == len(targets)
    assert all(r.expected_r_to_lzr == "sa" for r in records)
    assert records == unanswered_records(cfg, targets)
