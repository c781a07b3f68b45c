"""Naming a response: every rule on the data, then LZR's tie-break (docs/lzr-reference.md
§3.2); and which labels name a service for sure (`sure_labels`).

Every registered rule runs, whatever handshakes were requested, in ascending name order. No
label gives `unknown`; one label is the answer; several are joined with "-" and resolved by
the priority list (the -priorityFingerprint list, else the -handshakes list), then by LZR's
fixed rules, then by ours for joins that include our labels, else the joined string is the
answer.

Rules see at most INSPECT_LIMIT bytes: LZR captures 1024 bytes per packet, headers
included, so its rules never saw more than that. Bounding the prefix keeps a response of
megabytes as cheap to name as a short one.

A rule that cannot match is not called: each handshake declares what every response its rule
names has (`base.Needs`: a byte at an offset, or a substring), and an index built once here
gives, for a response, the rules whose test it passes. Leaving out rules that would have
returned None gives exactly the labels of running them all.
"""
import functools
import re
from typing import Callable, Iterable, Sequence

from lzr.handshakes import REGISTRY
from lzr.handshakes.base import Handshake, never

INSPECT_LIMIT = 1024
UNKNOWN = "unknown"

# LZR's fixed tie-break (docs/lzr-reference.md §3.2 step 4b): the first entry whose names all occur in
# the joined labels gives the result.
FIXED_TIE_BREAKS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("smtp", "ftp"), "smtp-ftp"),
    (("telnet", "bgp"), "bgp"),
    (("smtp",), "smtp"),
    (("ipp",), "ipp"),
    (("kubernetes",), "kubernetes"),
    (("dns", "http"), "http"),
    (("ssh", "http"), "http"),
    (("ftp", "http"), "http"),
    (("ftp", "ssh"), "ssh"),
    (("tls", "http"), "tls"),
)

# Ours, tried after LZR's so that joins of LZR's labels resolve exactly as LZR: a structured
# binary reply beats telnet's test of the second byte alone (SOCKS5 `05 ff`; a DRDA reply
# whose length byte is 0xfb-0xff).
EXTRA_TIE_BREAKS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("socks5", "telnet"), "socks5"),
    (("drda", "telnet"), "drda"),
)

# Handshakes whose rule can match, in registry (ascending name) order. A set of rules is an
# int mask: bit i stands for HANDSHAKES_WITH_RULES[i]. Where our rule differs from LZR's
# (`Handshake.lzr_match`), --compat runs LZR's (docs/lzr-differences.md).
HANDSHAKES_WITH_RULES = tuple(hs for hs in REGISTRY.values() if hs.match is not never)
_RULES = tuple(hs.match for hs in HANDSHAKES_WITH_RULES)
_LZR_RULES = tuple(hs.lzr_match or hs.match for hs in HANDSHAKES_WITH_RULES)


def labels(data: bytes, compat: bool = False) -> list[str]:
    """Every rule's label for `data`, in rule order (may be empty); LZR's rules with
    `compat`."""
    data = bytes(data[:INSPECT_LIMIT])
    rules = _LZR_RULES if compat else _RULES
    found = []
    mask = candidates(data)
    while mask:     # lowest bit first: name order
        lowest = mask & -mask
        label = rules[lowest.bit_length() - 1](data)
        if label is not None:
            found.append(label)
        mask ^= lowest
    return found


def fingerprint(data: bytes, priority: Sequence[str] = (), compat: bool = False) -> str:
    """The label of a response, tie-broken first by `priority` (handshake names)."""
    return label_of(labels(data, compat), priority) if data else UNKNOWN


def label_of(found: list[str], priority: Sequence[str] = ()) -> str:
    """The label of a response whose rules gave `found` (its `labels`)."""
    if not found:
        return UNKNOWN
    if len(found) == 1:
        return found[0]
    return resolve("-".join(found), priority)


def resolve(joined: str, priority: Sequence[str]) -> str:
    """LZR's tie-break of several labels joined with "-" (substring tests, as LZR)."""
    for name in priority:
        if name in joined:
            return name
    for names, result in FIXED_TIE_BREAKS + EXTRA_TIE_BREAKS:
        if all(name in joined for name in names):
            return result
    return joined


# ---- which labels name a service for sure ---------------------------------------------

# Labels whose rules also pass the common error replies of other protocols to a probe that is
# not theirs: Redis's "-ERR ..." to a GET passes the pop3 rule, memcached's "ERROR\r\n" the
# memcached_binary rule, a binary reply that starts like an SSL 3.0 record the ssl branch of
# the tls rule (EtherNet/IP echoing a ClientHello), and an error that echoes our bytes or a
# plain-HTTP error the http rule (Redis and STOMP brokers quote the h2c preface's
# "PRI * HTTP/2.0"; nginx on a TLS port answers any probe but a ClientHello with a plain
# "HTTP/1.1 400 Bad Request").
GENERIC_LABELS = frozenset({"pop3", "memcached_binary", "ssl", "http"})


@functools.cache
def _own_labels(name: str) -> frozenset[str]:
    """The names of the handshakes that send handshake `name`'s probe: itself and those
    declaring the same probe (`same_probe_as`: tls and kubernetes; newlines and bgp).

    The tls rule's other label, `ssl` (an SSL 3.0 record header), is not among them: it is
    what binary protocols' replies to a ClientHello look like (EtherNet/IP echoes its first
    bytes), while SSL 3.0-only servers are rare."""
    probe = REGISTRY[name].same_probe_as or name
    return frozenset(hs.name for hs in REGISTRY.values() if (hs.same_probe_as or hs.name) == probe)


def sure_labels(found: list[str], sent: Handshake) -> list[str]:
    """The labels of `found` (a response's `labels`) that name the service for sure in an
    answer to handshake `sent`: all of them when the response came unprompted (a
    server-first handshake); otherwise all but the generic ones that are not the probe's
    own. An empty list leaves the answer provisional and the other handshakes go on (Redis's
    `-ERR` to a GET passes the pop3 rule alone); docs/identification.md."""
    if sent.server_first or GENERIC_LABELS.isdisjoint(found):
        return found
    own = _own_labels(sent.name)
    return [label for label in found if label in own or label not in GENERIC_LABELS]


# ---- which rules a response can pass -------------------------------------------------


def candidates(data: bytes) -> int:
    """The mask of the rules whose `needs` test `data` passes."""
    mask = _ALWAYS
    size = len(data)
    for offset, table in _BYTE_TABLES:
        if offset < size:
            mask |= table[data[offset]]
    # Each search starts one byte after the last match, which so hides no substring that
    # overlaps it.
    lowered = data.lower()
    found = _FIND_SUBSTRING(lowered)
    while found is not None:
        mask |= _ADMITTED_BY[found.group()]
        found = _FIND_SUBSTRING(lowered, found.start() + 1)
    return mask


def _union(masks: Iterable[int]) -> int:
    union = 0
    for mask in masks:
        union |= mask
    return union


def _byte_tables() -> tuple[tuple[int, tuple[int, ...]], ...]:
    """For each offset some rule tests: (offset, the mask each byte value there admits)."""
    tables: dict[int, list[int]] = {}
    for i, hs in enumerate(HANDSHAKES_WITH_RULES):
        for byte in hs.needs.byte_in:
            tables.setdefault(hs.needs.at, [0] * 256)[byte] |= 1 << i
    return tuple((offset, tuple(table)) for offset, table in sorted(tables.items()))


def _substring_index() -> tuple[Callable[..., re.Match[bytes] | None], dict[bytes, int]]:
    """A search for any rule's substring, and the mask each substring found admits.

    The search runs on the lowercased response, so substrings are tested without regard to
    case: a rule may run on more responses, never on fewer. Of the substrings that start at
    one place the search reports the longest, so a substring found also admits the rules of
    those it starts with ("https" those of "http").
    """
    needed: dict[bytes, int] = {}
    for i, hs in enumerate(HANDSHAKES_WITH_RULES):
        for substring in hs.needs.substrings:
            key = substring.lower()
            needed[key] = needed.get(key, 0) | 1 << i
    admitted_by = {
        found: _union(mask for other, mask in needed.items() if found.startswith(other))
        for found in needed
    }
    return re.compile(_trie_pattern(needed)).search, admitted_by


def _trie_pattern(substrings: Iterable[bytes]) -> bytes:
    """A pattern for any of `substrings`, branching byte by byte: at each branch the regex
    engine tests one byte per alternative instead of every substring, and tries to go on
    before it stops, so of those starting at one place it matches the longest."""
    trie: dict = {}
    for substring in substrings:
        node = trie
        for byte in substring:
            node = node.setdefault(byte, {})
        node[None] = {}     # a substring ends here

    def pattern(node: dict) -> bytes:
        branches = [re.escape(bytes((byte,))) + pattern(child)
                    for byte, child in node.items() if byte is not None]
        if None in node:
            branches.append(b"")
        return branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"

    return pattern(trie)


_ALWAYS = _union(1 << i for i, hs in enumerate(HANDSHAKES_WITH_RULES)
                 if not hs.needs.byte_in and not hs.needs.substrings)
_BYTE_TABLES = _byte_tables()
_FIND_SUBSTRING, _ADMITTED_BY = _substring_index()
