"""Naming a response: every rule on the data, then LZR's tie-break (reference §3.2).

Every registered rule runs, whatever handshakes were requested, in ascending name order. No
label gives `unknown`; one label is the answer; several are joined with "-" and resolved by
the priority list (the -priorityFingerprint list, else the -handshakes list), then by LZR's
fixed rules, then by ours for joins that include our labels, else the joined string is the
answer.

Rules see at most INSPECT_LIMIT bytes: LZR captures 1024 bytes per packet, headers
included, so its rules never saw more than that. Bounding the prefix keeps a response of
megabytes as cheap to name as a short one.
"""
from typing import Sequence

from lzr.handshakes import REGISTRY
from lzr.handshakes.base import never

INSPECT_LIMIT = 1024
UNKNOWN = "unknown"

# Rules that can match, in registry (ascending name) order.
_RULES = tuple(hs.match for hs in REGISTRY.values() if hs.match is not never)

# LZR's fixed tie-break (reference §3.2 step 4b): the first entry whose names all occur in
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


def labels(data: bytes) -> list[str]:
    """Every rule's label for `data`, in rule order (may be empty)."""
    data = bytes(data[:INSPECT_LIMIT])
    return [label for match in _RULES if (label := match(data)) is not None]


def fingerprint(data: bytes, priority: Sequence[str] = ()) -> str:
    """The label of a response, tie-broken first by `priority` (handshake names)."""
    if not data:
        return UNKNOWN
    found = labels(data)
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
