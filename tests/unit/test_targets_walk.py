"""The vectorised walk gives RangeScan's targets: streams interleave, chunks come back the same."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lzr.targets.blocklist import AddressPolicy, parse_network
from lzr.targets.ranges import Checkpoint, RangeScan, TargetSpace
from lzr.targets.walk import StreamWalk

OPEN = AddressPolicy(allow_reserved=True)


def space(networks: list[str], ports, blocklist: list[str] = ()) -> TargetSpace:
    policy = AddressPolicy(blocklist=[parse_network(n) for n in blocklist], allow_reserved=True)
    return TargetSpace([parse_network(n) for n in networks], ports, policy)


def walked(scan: RangeScan, streams: int, chunk: int) -> list[list[tuple[int, int]]]:
    """Each stream's targets in its order."""
    out = []
    for stream in range(streams):
        walk = StreamWalk(scan, streams, stream, chunk)
        targets = []
        for c in range(walk.chunks):
            addrs, ports = walk.targets(c)
            if scan.space.intervals and scan.space.intervals[0][0] == 6:
                addrs = [high << 64 | low for high, low in addrs.tolist()]
            else:
                addrs = addrs.tolist()
            targets += zip(addrs, ports.tolist())
        out.append(targets)
    return out


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), streams=st.integers(1, 4), chunk=st.integers(1, 50),
       shards=st.integers(1, 3))
def test_streams_together_are_the_scan_and_each_keeps_its_order(seed, streams, chunk, shards):
    targets_space = space(["10.1.0.0/23", "10.9.0.0/26"], [22, 80, 443], ["10.1.0.128/25"])
    for shard in range(shards):
        reference = [(t.addr, t.port) for t in RangeScan(targets_space, seed=seed, shards=shards,
                                                        shard=shard)]
        per_stream = walked(RangeScan(targets_space, seed=seed, shards=shards, shard=shard),
                            streams, chunk)
        assert sorted(sum(per_stream, [])) == sorted(reference)
        # Stream s holds the slice's steps s, s+S, ...: its targets keep the walk's order.
        order = {target: index for index, target in enumerate(reference)}
        for targets in per_stream:
            positions = [order[t] for t in targets]
            assert positions == sorted(positions)


def test_a_big_space_walks_the_same_as_rangescan():
    big = space(["10.128.0.0/10"], range(1, 65536))          # primes beyond 32 bits
    reference = []
    for target in RangeScan(big, seed=3):
        reference.append((target.addr, target.port))
        if len(reference) == 5000:
            break
    (stream,) = walked_prefix(RangeScan(big, seed=3), 3)
    assert stream[:5000] == reference


def walked_prefix(scan: RangeScan, chunks: int):
    walk = StreamWalk(scan, 1, 0, 4096)
    targets = []
    for c in range(chunks):
        addrs, ports = walk.targets(c)
        targets += zip(addrs.tolist(), ports.tolist())
    return [targets]


def test_ipv6_addresses_carry_into_the_high_half():
    v6 = space(["2001:db8:0:0:ffff:ffff:ffff:ff00/120", "fd00::/126"], [80, 8080])
    reference = sorted((t.addr, t.port) for t in RangeScan(v6, seed=9))
    assert sorted(sum(walked(RangeScan(v6, seed=9), 2, 7), [])) == reference


def test_a_chunk_computed_again_is_the_same():
    walk = StreamWalk(RangeScan(space(["10.2.0.0/16"], [80, 81]), seed=4), 2, 1, 300)
    first = [array.tolist() for array in walk.targets(5)]
    walk.targets(6)
    assert [array.tolist() for array in walk.targets(5)] == first


@pytest.mark.parametrize("streams", [1, 3])
def test_a_resumed_walk_starts_where_the_rounds_ended(streams):
    targets_space = space(["10.3.0.0/24"], [80, 81, 82])
    reference = [(t.addr, t.port) for t in RangeScan(targets_space, seed=1)]
    scan = RangeScan(targets_space, seed=1)
    chunk, rounds = 5, 4
    before = []
    for stream in range(streams):
        walk = StreamWalk(scan, streams, stream, chunk)
        for c in range(rounds):
            addrs, ports = walk.targets(c)
            before += zip(addrs.tolist(), ports.tolist())
    position = walk.position_after(rounds)
    assert position == rounds * streams * chunk
    resumed = RangeScan(targets_space, seed=1, resume=Checkpoint(
        1, 1, 0, targets_space.digest(), position, len(before)))
    after = sorted(sum(walked(resumed, 2, 4), []))
    assert sorted(before + after) == sorted(reference)
    assert not set(before) & set(after)


def test_an_empty_space_has_no_chunks():
    empty = space(["10.4.0.0/24"], [80], ["10.4.0.0/24"])
    assert StreamWalk(RangeScan(empty, seed=1), 2, 0, 10).chunks == 0
