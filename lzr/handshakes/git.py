"""git daemon upload-pack request.

The git:// transport request (gitprotocol-pack(5), "Git Transport"): one pkt-line
(gitprotocol-common(5): four hex digits of length, then the payload)
`git-upload-pack /\0host=<target>\0`. git daemon answers every path it will not serve with
an `ERR` pkt-line; a served repository starts its reference advertisement with a 40-hex
object id, or with `version 2` for protocol v2.
"""
import string

from lzr.handshakes.base import Handshake, host_text

HEX = frozenset(string.hexdigits.lower().encode())


def pkt_line(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


def probe(target: str) -> bytes:
    return pkt_line(b"git-upload-pack /\x00host=" + host_text(target).encode("ascii") + b"\x00")


def match(data: bytes) -> str | None:
    if len(data) < 8 or not all(byte in HEX for byte in data[:4]):
        return None
    payload = data[4:]
    if payload.startswith((b"ERR ", b"version 2\n")):
        return "git"
    if len(payload) > 40 and payload[40] == 0x20 and all(byte in HEX for byte in payload[:40]):
        return "git"
    return None


HANDSHAKE = Handshake("git", "git daemon upload-pack request for /", False, probe, match)
