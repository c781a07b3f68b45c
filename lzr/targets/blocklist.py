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

from lzr.targets.lines import OverlongLine, quote
from lzr.targets.types import LineError, TargetSpecError, decimal_value
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


def parse_network(text: str, *, mask_host_bits: bool = False) -> Network:
    """`ADDR` or `ADDR/LEN` -> (version, first, end).

    With host bits set (`192.0.2.1/24`) the network is refused (for --targets: a typo there
    should not silently widen a scan), or with `mask_host_bits` taken as the network that
    holds the address (ZMap's reading of list files). Raises TargetSpecError naming
    the problem.
    """
    text = text.strip()
    address, slash, length_text = text.partition("/")
    try:
        version, first = parse_addr(address)
    except ValueError:
        raise TargetSpecError(f"not an IP address: {quote(address)}") from None
    width = _WIDTH[version]
    if not slash:
        return version, first, first + 1
    length = decimal_value(length_text, 3)
    if length is None or length > width:
        raise TargetSpecError(f"bad prefix length in {quote(text)}")
    host_bits_count = width - length
    host_mask = (1 << host_bits_count) - 1
    if first & host_mask:
        if not mask_host_bits:
            raise TargetSpecError(f"{quote(text)} has host bits set")
        first &= ~host_mask
    return version, first, first + (1 << host_bits_count)


def parse_network_lines(lines: Iterable[str | OverlongLine]) -> Iterator[Network | LineError]:
    """ZMap's list-file format (--blocklist, --allowlist), read as ZMap reads it: one address
    or `ADDR/LEN` per line, anything after `#` a comment, whitespace around it ignored, host
    bits allowed (`192.0.2.1/30` is 192.0.2.0/30). Stricter than ZMap where it would guess:
    addresses must be in standard form (ZMap also takes `10.1` or octal `012.0.0.1`, and
    resolves host names), and text after the network is an error (ZMap ignores it, so a second
    network on the line would silently not count)."""
    for number, raw in enumerate(lines, 1):
        if isinstance(raw, OverlongLine):
            yield LineError(number, raw.head, raw.reason)
            continue
        line = raw.rstrip("\r\n")
        words = line.partition("#")[0].split()
        if not words:
            continue
        if len(words) > 1:
            yield LineError(number, line, "text after the network (one per line; comments "
                                          "start with #)")
            continue
        try:
            yield parse_network(words[0], mask_host_bits=True)
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
