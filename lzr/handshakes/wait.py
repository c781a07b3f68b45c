"""Wait for a banner.

LZR's `wait` (docs/lzr-reference.md §2.15): complete the handshake with a bare ACK and
let a server-first service speak. The rule never matches; whatever the server says is still
named by every other rule.
"""
from lzr.handshakes.base import Handshake, constant, never

HANDSHAKE = Handshake("wait", "send nothing, wait for a banner", True, constant(b""), never)
