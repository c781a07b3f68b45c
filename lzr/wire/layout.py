"""Header layouts as tables of (field, struct code) rows, compiled to `struct.Struct` once.

The idea is dpkt's `__hdr__`: a header is described in one place, and the structs the parser
and the builders use, and the byte offsets the BPF program reads, are derived from the table
instead of being written out by hand.
"""
from __future__ import annotations

import struct


class Layout:
    """A fixed-size, big-endian header."""

    def __init__(self, name: str, rows: tuple[tuple[str, str], ...]) -> None:
        self.name = name
        self.rows = rows
        self.struct = struct.Struct("!" + "".join(code for _, code in rows))
        self.size = self.struct.size
        self._offsets: dict[str, int] = {}
        position = 0
        for field, code in rows:
            self._offsets[field] = position
            position += struct.calcsize("!" + code)

    def offset(self, field: str) -> int:
        """Byte offset of `field` from the start of this header."""
        return self._offsets[field]

    def __add__(self, other: "Layout") -> "Layout":
        """Two headers back to back, e.g. Ethernet + IPv4 + TCP as one struct for the builders.

        Field names are prefixed with the header's name, lower case ("ipv4.ttl").
        """
        rows = tuple(
            (name if "." in name else f"{layout.name.lower()}.{name}", code)
            for layout in (self, other)
            for name, code in layout.rows
        )
        return Layout(f"{self.name}+{other.name}", rows)

    def __repr__(self) -> str:
        return f"Layout({self.name!r}, {self.size} bytes)"
