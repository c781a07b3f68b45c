"""Two newlines, to provoke a reply.

LZR's `newlines` (docs/lzr-reference.md §3.3) sends `\n\n`: many line-oriented services
answer anything with an error message that the other rules then name. No rule of its own.
"""
from lzr.handshakes.base import Handshake, constant, never

HANDSHAKE = Handshake(
    "newlines", "two newlines, to provoke a reply", False, constant(b"\n\n"), never
)
