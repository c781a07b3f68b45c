"""Range scans: permutation, shards, --max-targets, checkpoints; the address policy."""
import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lzr.targets import (
    AddressPolicy, Checkpoint, CheckpointError, LineError, RangeScan, Target, TargetSpace,
    TargetSpecError, parse_network, parse_network_lines, parse_networks, parse_ports,
)
from lzr.targets.cyclic import is_prime, make_cycle, next_prime_above, prime_factors

OPEN = AddressPolicy(allow_reserved=True)


def v4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def space(targets: str, ports: str, policy: AddressPolicy = OPEN) -> TargetSpace:
    return TargetSpace(parse_networks(targets), parse_ports(ports), policy)


def every_pair(targets: str, ports: str) -> set[Target]:
    pairs = set()
    for network in targets.split(","):
        net = ipaddress.ip_network(network)
        for address in net:
            for port in parse_ports(ports):
                pairs.add(Target(net.version, int(address), port))
    return pairs


# --- number theory -----------------------------------------------------------------------

def test_primality_against_trial_division():
    def slow(n):
        return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))
    assert [n for n in range(2000) if is_prime(n)] == [n for n in range(2000) if slow(n)]
    assert is_prime(2**61 - 1) and not is_prime((2**31 - 1) * (2**19 - 1))
    with pytest.raises(ValueError):
        is_prime(2**89 - 1)
    assert next_prime_above(2**32) == 2**32 + 15          # ZMap's prime for IPv4


@pytest.mark.parametrize("n", [1, 2, 12, 97 * 97, 2**32 + 14, 2**48 + 20, 600851475143,
                               (2**31 - 1) * 1_000_003 * 2])
def test_prime_factors_multiply_back(n):
    factors = prime_factors(n)
    assert all(is_prime(f) for f in factors)
    rest = n
    for f in factors:
        while rest % f == 0:
            rest //= f
    assert rest == 1


@pytest.mark.parametrize("size", [1, 2, 3, 10, 97, 1000, 4096])
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_cycle_visits_every_index_once(size, seed):
    cycle = make_cycle(size, seed)
    residue = pow(cycle.generator, cycle.offset, cycle.prime)
    seen = []
    for _ in range(cycle.order):
        if residue - 1 < size:
            seen.append(residue - 1)
        residue = residue * cycle.generator % cycle.prime
    assert sorted(seen) == list(range(size))


def test_seed_decides_the_order():
    target_space = space("192.0.2.0/28", "80,443")
    first = list(RangeScan(target_space, seed=1))
    assert first == list(RangeScan(target_space, seed=1))
    assert first != list(RangeScan(target_space, seed=2))
    assert first != sorted(first)


# --- parsing options ---------------------------------------------------------------------

def test_parse_ports():
    assert parse_ports("80,443,8000-8003, 22") == (22, 80, 443, 8000, 8001, 8002, 8003)
    assert parse_ports("443,443,440-444") == (440, 441, 442, 443, 444)
    for bad in ["", "0", "65536", "80-", "90-80", "http", "1,,2", "8O"]:
        with pytest.raises(TargetSpecError):
            parse_ports(bad)


def test_parse_networks():
    assert parse_networks("192.0.2.0/30,198.51.100.7") == [
        (4, v4("192.0.2.0"), v4("192.0.2.4")), (4, v4("198.51.100.7"), v4("198.51.100.8"))]
    assert parse_network("2001:db8::/126") == (6, int(ipaddress.IPv6Address("2001:db8::")),
                                               int(ipaddress.IPv6Address("2001:db8::4")))
    for bad in ["192.0.2.1/24", "192.0.2.0/33", "192.0.2.0/x", "host.example", "", "10.0.0.0/-1"]:
        with pytest.raises(TargetSpecError):
            parse_networks(bad)


def test_space_too_large_is_refused():
    with pytest.raises(TargetSpecError):
        space("2001:db8::/64", "80")
    assert space("2001:db8::/80", "80").size == 2**48


# --- shards, max targets -----------------------------------------------------------------

@pytest.mark.parametrize("seed", [3, 99])
def test_three_shards_cover_a_24_times_10_ports_exactly_once(seed):
    target_space = space("192.0.2.0/24", "80,443,8000-8007")
    walked = []
    for shard in range(3):
        walked += list(RangeScan(target_space, seed=seed, shards=3, shard=shard))
    assert len(walked) == 2560 == len(set(walked))
    assert set(walked) == every_pair("192.0.2.0/24", "80,443,8000-8007")


@pytest.mark.parametrize("shards", [1, 2, 5, 7])
def test_shards_partition_small_spaces(shards):
    for targets, ports in [("192.0.2.1/32", "80"), ("192.0.2.0/31", "1-3"),
                           ("192.0.2.0/29,2001:db8::/126", "22,80")]:
        target_space = space(targets, ports)
        walked = [t for s in range(shards)
                  for t in RangeScan(target_space, seed=5, shards=shards, shard=s)]
        assert sorted(walked) == sorted(every_pair(targets, ports))


def test_max_targets_is_shared_between_shards_like_zmap():
    target_space = space("192.0.2.0/24", "80")
    counts = [len(list(RangeScan(target_space, seed=1, shards=3, shard=s, max_targets=10)))
              for s in range(3)]
    assert counts == [4, 3, 3]
    one = list(RangeScan(target_space, seed=1, max_targets=10))
    assert len(one) == 10 and one == list(RangeScan(target_space, seed=1))[:10]
    assert list(RangeScan(target_space, seed=1, max_targets=0)) == []


def test_bad_shard_arguments():
    target_space = space("192.0.2.0/30", "80")
    for shards, shard in [(0, 0), (3, 3), (3, -1)]:
        with pytest.raises(TargetSpecError):
            RangeScan(target_space, seed=1, shards=shards, shard=shard)


# --- policy applied to a range -----------------------------------------------------------

def test_reserved_ranges_are_left_out_and_counted():
    target_space = space("192.0.2.0/24,8.8.8.0/30", "80,443", AddressPolicy())
    assert target_space.size == 8 and target_space.blocked == 512
    addrs = {t.addr for t in RangeScan(target_space, seed=1)}
    assert addrs == set(range(v4("8.8.8.0"), v4("8.8.8.4")))


def test_blocklist_inside_a_range():
    policy = AddressPolicy(blocklist=[parse_network("192.0.2.8/29")], allow_reserved=True)
    target_space = space("192.0.2.0/27", "80", policy)
    addrs = sorted(t.addr for t in RangeScan(target_space, seed=4))
    assert addrs == [a for a in range(v4("192.0.2.0"), v4("192.0.2.32"))
                     if not v4("192.0.2.8") <= a < v4("192.0.2.16")]
    assert target_space.blocked == 8


def test_everything_blocked_gives_an_empty_scan():
    target_space = space("10.0.0.0/30", "80", AddressPolicy())
    scan = RangeScan(target_space, seed=1)
    assert target_space.size == 0 and list(scan) == [] and scan.done


# --- checkpoints -------------------------------------------------------------------------

def resume_until_done(target_space, seed, shards, shard, rng, max_targets=None):
    """Walks a shard, stopping at random points and resuming from a JSON checkpoint."""
    walked = []
    checkpoint = None
    while True:
        scan = RangeScan(target_space, seed=seed, shards=shards, shard=shard,
                         max_targets=max_targets, resume=checkpoint)
        if scan.done:
            return walked
        stop_after = rng.randint(0, 40)
        for count, target in enumerate(scan, 1):
            walked.append(target)
            if count >= stop_after:
                break
        checkpoint = Checkpoint.from_json(scan.checkpoint().to_json())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_resume_from_random_stops_repeats_and_skips_nothing(seed):
    rng = random.Random(seed)
    target_space = space("192.0.2.0/26,198.51.100.0/30", "80,443,22")
    walked = []
    for shard in range(2):
        walked += resume_until_done(target_space, seed, 2, shard, rng)
    assert len(walked) == len(set(walked)) == target_space.size
    assert set(walked) == every_pair("192.0.2.0/26,198.51.100.0/30", "80,443,22")


def test_resume_keeps_max_targets():
    target_space = space("192.0.2.0/24", "80")
    walked = resume_until_done(target_space, 9, 1, 0, random.Random(0), max_targets=50)
    assert walked == list(RangeScan(target_space, seed=9, max_targets=50))


def test_checkpoint_taken_while_holding_a_target_counts_it():
    target_space = space("192.0.2.0/28", "80")
    scan = RangeScan(target_space, seed=1)
    iterator = iter(scan)
    first = next(iterator)
    rest = list(RangeScan(target_space, seed=1, resume=scan.checkpoint()))
    assert first not in rest and len(rest) == 15


def test_checkpoint_json_is_short_and_strict():
    target_space = space("192.0.2.0/28", "80")
    text = RangeScan(target_space, seed=1).checkpoint().to_json()
    assert len(text) < 200 and Checkpoint.from_json(text).seed == 1
    for bad in ["", "[]", '{"lzr_checkpoint":1}', text.replace('"seed":1', '"seed":"1"'),
                text.replace('"lzr_checkpoint":1', '"lzr_checkpoint":2')]:
        with pytest.raises(CheckpointError):
            Checkpoint.from_json(bad)


def test_checkpoint_of_another_scan_is_refused():
    target_space = space("192.0.2.0/28", "80")
    checkpoint = RangeScan(target_space, seed=1, shards=2, shard=0).checkpoint()
    for other in [dict(seed=2, shards=2, shard=0), dict(seed=1, shards=2, shard=1),
                  dict(seed=1, shards=3, shard=0)]:
        with pytest.raises(CheckpointError):
            RangeScan(target_space, resume=checkpoint, **other)
    with pytest.raises(CheckpointError):
        RangeScan(space("192.0.2.0/28", "81"), seed=1, shards=2, shard=0, resume=checkpoint)
    with pytest.raises(CheckpointError):
        RangeScan(target_space, seed=1, shards=2, shard=0,
                  resume=checkpoint._replace(position=10**9))


# --- address policy ----------------------------------------------------------------------

def test_builtin_reserved_ranges():
    policy = AddressPolicy()
    for blocked in ["10.1.2.3", "127.0.0.1", "192.168.0.1", "224.0.0.1", "255.255.255.255",
                    "100.64.0.1", "0.0.0.0", "198.18.0.1", "240.0.0.1"]:
        assert not policy.is_allowed(4, v4(blocked)), blocked
    for allowed in ["8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "223.255.255.255"]:
        assert policy.is_allowed(4, v4(allowed)), allowed
    for blocked in ["::", "::1", "fe80::1", "ff02::1", "2001:db8::1", "fd00::1", "::ffff:8.8.8.8"]:
        assert not policy.is_allowed(6, int(ipaddress.IPv6Address(blocked))), blocked
    assert policy.is_allowed(6, int(ipaddress.IPv6Address("2606:4700::1111")))
    lifted = AddressPolicy(allow_reserved=True)
    assert lifted.is_allowed(4, v4("10.1.2.3")) and lifted.is_allowed(6, 1)


def test_allowlist_and_blocklist():
    policy = AddressPolicy(allowlist=[parse_network("192.0.2.0/24"), parse_network("8.8.8.8")],
                           blocklist=[parse_network("192.0.2.128/25")], allow_reserved=True)
    assert policy.is_allowed(4, v4("192.0.2.1")) and policy.is_allowed(4, v4("8.8.8.8"))
    assert not policy.is_allowed(4, v4("192.0.2.200"))      # blocklist beats allowlist
    assert not policy.is_allowed(4, v4("8.8.4.4"))          # not in the allowlist
    assert not policy.is_allowed(6, 1)                       # no IPv6 entry in the allowlist
    # Without allow_reserved an allowlist entry does not lift the reserved list.
    strict = AddressPolicy(allowlist=[parse_network("10.0.0.0/8")])
    assert not strict.is_allowed(4, v4("10.1.1.1"))


@settings(max_examples=60, deadline=None)  # no wall-time assertions
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(24, 32)), max_size=6),
       st.lists(st.tuples(st.integers(0, 255), st.integers(24, 32)), max_size=6),
       st.booleans())
def test_policy_matches_a_naive_model(blocks, allows, use_allowlist):
    def networks(items):
        return [ipaddress.ip_network(f"192.0.2.{host}/{length}", strict=False)
                for host, length in items]
    blocked, allowed = networks(blocks), networks(allows)
    allowlist = [parse_network(str(n)) for n in allowed] if use_allowlist else None
    policy = AddressPolicy(blocklist=[parse_network(str(n)) for n in blocked],
                           allowlist=allowlist, allow_reserved=True)
    for host in range(256):
        address = ipaddress.IPv4Address(f"192.0.2.{host}")
        expected = (not any(address in n for n in blocked)
                    and (not use_allowlist or any(address in n for n in allowed)))
        assert policy.is_allowed(4, int(address)) == expected


def test_list_file_lines():
    lines = ["# ZMap style\n", "192.0.2.0/24\n", "198.51.100.7  # one host\r\n", "\n",
             "2001:db8::/32\n", "not-a-network\n", "192.0.2.0/24 198.51.100.0/24\n"]
    results = list(parse_network_lines(lines))
    assert results[:3] == [parse_network("192.0.2.0/24"), parse_network("198.51.100.7"),
                           parse_network("2001:db8::/32")]
    assert [(e.line_number, type(e)) for e in results[3:]] == [(6, LineError), (7, LineError)]
    assert results[3].reason == "not an IP address: 'not-a-network'"
    assert results[4].reason.startswith("text after the network")


@pytest.mark.parametrize("line, network", [
    ("1.2.3.1/30", "1.2.3.0/30"),                   # host bits set: the network holding it
    ("192.0.2.77/24\n", "192.0.2.0/24"),
    ("\t 192.0.2.0/24   \r\n", "192.0.2.0/24"),     # whitespace around the entry
    ("192.0.2.0/24# no space before the comment", "192.0.2.0/24"),
    ("192.0.2.9/032", "192.0.2.9/32"),               # leading zeros in the length
    ("192.0.2.9/0", "0.0.0.0/0"),
    ("2001:db8::1/64", "2001:db8::/64"),
])
def test_list_files_are_read_as_zmap_reads_them(line, network):
    expected = ipaddress.ip_network(network)
    [result] = parse_network_lines([line])
    assert result == (expected.version, int(expected.network_address),
                      int(expected.network_address) + expected.num_addresses)


@pytest.mark.parametrize("line, reason", [
    ("192.0.2.0/33", "bad prefix length"),
    ("192.0.2.0/+24", "bad prefix length"),
    ("192.0.2.0/" + "1" * 4301, "bad prefix length"),
    ("192.0.2.0/" + "0" * 5000 + "24", None),       # leading zeros only: still /24
    ("10.1/8", "not an IP address"),                 # inet_aton's short form: not guessed
    ("host.example", "not an IP address"),           # no name resolution
])
def test_list_file_entries_zmap_would_guess_at_are_errors(line, reason):
    [result] = parse_network_lines([line])
    if reason is None:
        assert result == parse_network("192.0.2.0/24")
    else:
        assert isinstance(result, LineError) and result.reason.startswith(reason)
        assert len(str(result)) < 300, "the message quotes at most 100 characters of the line"


def test_targets_still_refuse_host_bits():
    with pytest.raises(TargetSpecError, match="host bits set"):
        parse_network("192.0.2.1/24")
