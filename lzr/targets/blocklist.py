"""What may be scanned: built-in reserved ranges, --blocklist, --allowlist (docs/targets.md).

An address is allowed when all of these hold:

* it is not in a built-in reserved range, unless `allow_reserved` lifts that list;
* if an allowlist is given, it is in the allowlist;
* it is not in the blocklist (the blocklist wins over the allowlist).

The same test applies to targets before they are sent and to packets as they arrive (ZMap's
receiver drops responses from blocked sources too). The rules are compiled into one sorted
list of allowed intervals per IP version, so a test is one binary search.
"""
from bisect import bisect_right
from collections.abc import Iterable, Iterator

from lzr.targets.types import LineError, TargetSpecError
from lzr.wire.addr import parse_addr

_WIDTH = {4: 32, 6: 128}

# ZMap's conf/blocklist.conf (IANA special-purpose registry).
RESERVED_IPV4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
    "255.255.255.255/32", "224.0.0.0/4",
)
# IPv6 addresses that are never a public service: unspecified, loopback, IPv4-mapped,
# discard-only, documentation, unique-local, link-local, multicast.
RESERVED_IPV6 = (
    "::/128", "::1/128", "::ffff:0:0/96", "100::/64", "2001:db8::/32", "fc00::/7",
    "fe80::/10", "ff00::/8",
)

# A network: (version, first address, one past the last address).
Network = tuple[int, int, int]


def parse_network(text: str) -> Network:
    """`ADDR` or `ADDR/LEN` -> (version, first, end). Host bits must be zero.

    Raises TargetSpecError naming the problem.
    """
    address, slash, length_text = text.strip().partition("/")
    try:
        version, first = parse_addr(address)
    except ValueError:
        raise TargetSpecError(f"not an IP address: {address!r}") from None
    width = _WIDTH[version]
    if not slash:
        return version, first, first + 1
    if not length_text.isascii() or not length_text.isdigit() or int(length_text) > width:
        raise TargetSpecError(f"bad prefix length in {text.strip()!r}")
    host_bits = width - int(length_text)
    if first & ((1 << host_bits) - 1):
        raise TargetSpecError(f"{text.strip()!r} has host bits set")
    return version, first, first + (1 << host_bits)


def parse_network_lines(lines: Iterable[str]) -> Iterator[Network | LineError]:
    """ZMap's list-file format: one address or CIDR per line, `#` comments, blank lines."""
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        entry = line.partition("#")[0].strip()
        if not entry:
            continue
        try:
            yield parse_network(entry)
        except TargetSpecError as error:
            yield LineError(number, line, str(error))


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, end in sorted(intervals):
        if merged and first <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((first, end))
    return merged


def _subtract(kept: list[tuple[int, int]], removed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Both merged and sorted; the parts of `kept` outside `removed`."""
    result = []
    index = 0
    for first, end in kept:
        while index < len(removed) and removed[index][1] <= first:
            index += 1
        cursor = first
        scan = index
        while scan < len(removed) and removed[scan][0] < end:
            if removed[scan][0] > cursor:
                result.append((cursor, removed[scan][0]))
            cursor = max(cursor, removed[scan][1])
            scan += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Both merged and sorted; the parts in both."""
    result = []
    i = j = 0
    while i < len(a) and j < len(b):
        first, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if first < end:
            result.append((first, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


class AddressPolicy:
    """The compiled allow/block rules; immutable once built."""

    __slots__ = ("_starts", "_ends", "_intervals")

    def __init__(self, *, blocklist: Iterable[Network] = (),
                 allowlist: Iterable[Network] | None = None, allow_reserved: bool = False):
        blocked = list(blocklist)
        if not allow_reserved:
            blocked += [parse_network(text) for text in RESERVED_IPV4 + RESERVED_IPV6]
        allowed = None if allowlist is None else list(allowlist)
        self._intervals: dict[int, list[tuple[int, int]]] = {}
        for version, width in _WIDTH.items():
            if allowed is None:
                base = [(0, 1 << width)]
            else:
                base = merge_intervals((first, end) for v, first, end in allowed if v == version)
            removed = merge_intervals((first, end) for v, first, end in blocked if v == version)
            self._intervals[version] = _subtract(base, removed)
        self._starts = {v: [first for first, _ in iv] for v, iv in self._intervals.items()}
        self._ends = {v: [end for _, end in iv] for v, iv in self._intervals.items()}

    def is_allowed(self, version: int, addr: int) -> bool:
        starts = self._starts[version]
        index = bisect_right(starts, addr) - 1
        return index >= 0 and addr < self._ends[version][index]

    def allowed_parts(self, network: Network) -> list[tuple[int, int]]:
        """The allowed intervals [first, end) inside one network, in address order."""
        version, first, end = network
        return _intersect(self._intervals[version], [(first, end)])
