"""X11 connection setup.

LZR's 12 bytes (docs/lzr-reference.md §3.3): byte order `l` (little-endian), protocol
11.0, no authorisation (X Window System Protocol, "Connection Setup"). LZR has no rule for
the reply; the other rules still run on it.
"""
from lzr.handshakes.base import Handshake, constant, never

PROBE = bytes.fromhex("6c000b00" "0000" "0000" "00000000")

HANDSHAKE = Handshake("x11", "X11 connection setup (no rule)", False, constant(PROBE), never)
