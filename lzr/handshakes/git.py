"""git daemon upload-pack request.

The git:// transport request (gitprotocol-pack(5), "Git Transport"): one pkt-line
(gitprotocol-common(5): four hex digits of length, then the payload)
`git-upload-pack /\0host=<target>\0`. git daemon answers every path it will not serve with
an `ERR` pkt-line; a served repository starts its reference advertisement with a 40-hex
object id, or with `version 2` for protocol v2.
"""
import re
from random import Random

from lzr.handshakes.base import Handshake, Needs, host_text

# A pkt-line length, then an error, the v2 capability advertisement or `<object id> <ref>`.
FIRST_PKT_LINE = re.compile(rb"[0-9a-f]{4}(?:ERR |version 2\n|[0-9a-f]{40} )")


def pkt_line(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


def probe(target: str, rng: Random | None = None) -> bytes:
    return pkt_line(b"git-upload-pack /\x00host=" + host_text(target).encode("ascii") + b"\x00")


NEEDS = Needs(byte_in=b"0123456789abcdef")


def match(data: bytes) -> str | None:
    return "git" if FIRST_PKT_LINE.match(data) else None


HANDSHAKE = Handshake("git", "git daemon upload-pack request for /", False, probe, match, NEEDS)
