"""Text <-> integer addresses. The scanner keys and stores addresses as integers.

`socket` is imported only for inet_pton/inet_ntop, which are pure conversions (no I/O).
"""
from __future__ import annotations

import ipaddress
import socket

_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
_WIDTH = {4: 4, 6: 16}


def parse_addr(text: str) -> tuple[int, int]:
    """'192.0.2.1' -> (4, 3221225985); '2001:db8::1' -> (6, ...). Raises ValueError if invalid.

    Strict forms only (inet_pton): no shortened IPv4 like '10.1', no leading zeros, no zone.
    """
    version = 6 if ":" in text else 4
    try:
        packed = socket.inet_pton(_FAMILY[version], text)
    except (OSError, UnicodeError, ValueError):
        raise ValueError(f"not an IPv{version} address: {text!r}") from None
    return version, int.from_bytes(packed, "big")


def format_addr(version: int, value: int) -> str:
    """The canonical text: dotted quad, or compressed IPv6 as RFC 5952 writes it.

    IPv4-mapped addresses keep the mixed form (::ffff:192.0.2.1, RFC 5952 §5); addresses with
    the top 96 bits zero stay hexadecimal (::102:304), where libc's inet_ntop would print the
    deprecated IPv4-compatible form.
    """
    if version == 6 and value < 1 << 32:
        return str(ipaddress.IPv6Address(value))
    return socket.inet_ntop(_FAMILY[version], value.to_bytes(_WIDTH[version], "big"))


def exploded_ipv6(value: int) -> str:
    """Eight groups of four lowercase hex digits: LZR's form for IPv6 in keys and output
    (docs/lzr-reference.md §6.6)."""
    digits = f"{value:032x}"
    return ":".join((digits[0:4], digits[4:8], digits[8:12], digits[12:16],
                     digits[16:20], digits[20:24], digits[24:28], digits[28:32]))
