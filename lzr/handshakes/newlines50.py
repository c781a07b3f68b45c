"""Fifty newlines, to provoke a reply.

LZR's `newlines50` (docs/lzr-reference.md §3.3): 50 × `\n`, for services that only
answer once a buffer fills or a line limit is hit. No rule of its own.
"""
from lzr.handshakes.base import Handshake, constant, never

HANDSHAKE = Handshake(
    "newlines50", "fifty newlines, to provoke a reply", False, constant(b"\n" * 50), never
)
