"""Range scans: `--targets CIDR,... --ports LIST`, permuted, sharded, capped and resumable.

The target space is every allowed address of the given networks times every given port,
numbered index = address_index * port_count + port_index. A seeded cyclic-group permutation
(`lzr.targets.cyclic`) visits the indices; ZMap's sharding splits the cycle's exponents into
N contiguous slices, so N machines with the same seed and space each take one slice and
together visit every index exactly once. docs/targets.md has the details.
"""
import hashlib
import json
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from lzr.targets.blocklist import AddressPolicy, Network, merge_intervals, parse_network
from lzr.targets.cyclic import make_cycle
from lzr.targets.lines import quote
from lzr.targets.types import Target, TargetSpecError, decimal_value

# The largest space a range scan walks: all of IPv4 on every port. IPv6 prefixes are limited
# by the same bound, e.g. a /96 on up to 65536 ports or a /80 on one port.
MAX_SPACE = 1 << 48


def parse_ports(text: str) -> tuple[int, ...]:
    """`80,443,8000-8100` -> the ports in ascending order, each once."""
    ports: set[int] = set()
    for item in text.split(","):
        low_text, dash, high_text = item.strip().partition("-")
        bounds = [decimal_value(b.strip(), 5) for b in ([low_text, high_text] if dash else [low_text])]
        if None in bounds:
            raise TargetSpecError(f"bad port or port range {quote(item.strip())}")
        low, high = bounds[0], bounds[-1]
        if not 1 <= low <= high <= 65535:
            raise TargetSpecError(f"port range {quote(item.strip())} outside 1-65535 or reversed")
        ports.update(range(low, high + 1))
    return tuple(sorted(ports))


def parse_networks(text: str) -> list[Network]:
    """`192.0.2.0/24,2001:db8::/120,198.51.100.7` -> networks."""
    items = [item for item in text.split(",") if item.strip()]
    if not items:
        raise TargetSpecError("no target networks given")
    return [parse_network(item) for item in items]


class TargetSpace:
    """The allowed (address, port) pairs of a range scan, numbered 0..size-1."""

    def __init__(self, networks: Iterable[Network], ports: Iterable[int], policy: AddressPolicy):
        networks = list(networks)
        self.ports = tuple(sorted(set(ports)))
        if not self.ports:
            raise TargetSpecError("no ports given")
        self.intervals: list[tuple[int, int, int]] = []   # (version, first, end)
        requested = 0
        for version in (4, 6):
            merged = merge_intervals((first, end) for v, first, end in networks if v == version)
            requested += sum(end - first for first, end in merged)
            for first, end in merged:
                allowed = policy.allowed_parts((version, first, end))
                self.intervals += [(version, a, b) for a, b in allowed]
        self.address_count = sum(end - first for _, first, end in self.intervals)
        self.size = self.address_count * len(self.ports)
        # Pairs left out because the policy does not allow their address.
        self.blocked = (requested - self.address_count) * len(self.ports)
        if self.size > MAX_SPACE:
            raise TargetSpecError(
                f"target space of {self.size} pairs is above the limit of 2^48; scan smaller "
                "ranges (IPv6: at most a /80 on one port)")
        self._cumulative = []   # address index of each interval's first address
        total = 0
        for _, first, end in self.intervals:
            self._cumulative.append(total)
            total += end - first
        identity = json.dumps([self.intervals, self.ports], separators=(",", ":"))
        self._digest = hashlib.sha256(identity.encode()).hexdigest()[:32]

    def target(self, index: int) -> Target:
        address_index, port_index = divmod(index, len(self.ports))
        slot = bisect_right(self._cumulative, address_index) - 1
        version, first, _ = self.intervals[slot]
        return Target(version, first + address_index - self._cumulative[slot],
                      self.ports[port_index])

    def digest(self) -> str:
        """Identifies the space (addresses, ports, policy effects) for checkpoints."""
        return self._digest


class CheckpointError(ValueError):
    """A checkpoint text is unreadable or belongs to another scan."""


class Checkpoint(NamedTuple):
    """Where one shard of a range scan stands.

    `position` counts exponents of this shard's slice already walked; every target in that
    part was handed to the scanner, and `handed` counts them (for --max-targets).
    """

    seed: int
    shards: int
    shard: int
    space: str      # TargetSpace.digest()
    position: int
    handed: int

    def to_json(self) -> str:
        return json.dumps({"lzr_checkpoint": 1, **self._asdict()}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Checkpoint":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            raise CheckpointError("checkpoint is not valid JSON") from None
        if not isinstance(document, dict) or document.get("lzr_checkpoint") != 1:
            raise CheckpointError("not an lzr range checkpoint")
        try:
            values = {name: document[name] for name in cls._fields}
        except KeyError as missing:
            raise CheckpointError(f"checkpoint lacks {missing}") from None
        for name, value in values.items():
            expected = str if name == "space" else int
            if isinstance(value, bool) or not isinstance(value, expected):
                raise CheckpointError(f"checkpoint field {name} has the wrong type")
        return cls(**values)


class RangeScan:
    """One shard's walk over a TargetSpace: iterate to get targets in permuted order.

    `--max-targets` is shared out like ZMap does: each of N shards takes max // N targets,
    and the first max % N shards one more. `checkpoint()` may be called between targets;
    resuming from it continues with the next target, repeating and skipping none.
    """

    def __init__(self, space: TargetSpace, *, seed: int, shards: int = 1, shard: int = 0,
                 max_targets: int | None = None, resume: Checkpoint | None = None):
        if shards < 1 or not 0 <= shard < shards:
            raise TargetSpecError(f"shard {shard} of {shards}: need 0 <= shard < shards")
        if max_targets is not None and max_targets < 0:
            raise TargetSpecError("max targets must not be negative")
        self.space = space
        self.seed, self.shards, self.shard = seed, shards, shard
        self.position = self.handed = 0
        if resume is not None:
            expected = (seed, shards, shard, space.digest())
            if (resume.seed, resume.shards, resume.shard, resume.space) != expected:
                raise CheckpointError(
                    "checkpoint belongs to another scan (seed, shards, shard or space differ)")
            self.position, self.handed = resume.position, resume.handed
        self.limit = None
        if max_targets is not None:
            self.limit = max_targets // shards + (1 if shard < max_targets % shards else 0)
        if space.size == 0:
            self._cycle = None
            self._begin = self._end = 0
            return
        self._cycle = make_cycle(space.size, seed)
        slice_length = self._cycle.order // shards
        self._begin = slice_length * shard
        self._end = self._cycle.order if shard == shards - 1 else slice_length * (shard + 1)
        if not 0 <= self.position <= self._end - self._begin:
            raise CheckpointError("checkpoint position outside this shard's slice")

    @property
    def slice(self):
        """(cycle, begin, end): the permutation and this shard's exponents [begin, end), for
        walks that compute many targets at once (lzr.targets.walk). The cycle is None for an
        empty space."""
        return self._cycle, self._begin, self._end

    @property
    def done(self) -> bool:
        return (self.position >= self._end - self._begin
                or (self.limit is not None and self.handed >= self.limit))

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.seed, self.shards, self.shard, self.space.digest(),
                          self.position, self.handed)

    def __iter__(self) -> Iterator[Target]:
        if self._cycle is None or self.done:
            return
        prime, generator, size = self._cycle.prime, self._cycle.generator, self.space.size
        exponent = self._cycle.offset + self._begin + self.position
        residue = pow(generator, exponent, prime)
        target_of = self.space.target
        steps_left = self._end - self._begin - self.position
        for _ in range(steps_left):
            index = residue - 1
            residue = residue * generator % prime
            # Advance before handing the target out: once the caller holds it, a checkpoint
            # taken now must count it as finished.
            self.position += 1
            if index < size:
                self.handed += 1
                yield target_of(index)
                if self.limit is not None and self.handed >= self.limit:
                    return
