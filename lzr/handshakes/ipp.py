"""IPP: an empty POST to /ipp.

LZR's request (docs/lzr-reference.md §3.3) is its HTTP GET turned into `POST /ipp` with
`Content-Type: application/ipp` (RFC 8010 §3) and no body. A print server's 200 OK that talks
about IPP attributes or printing is IPP (§3.1); it is also HTTP, which the tie-break settles.
"""
from random import Random

from lzr.handshakes.base import Handshake, Needs, contains, host_text
from lzr.handshakes.http import USER_AGENT


def probe(target: str, rng: Random | None = None) -> bytes:
    return (
        "POST /ipp HTTP/1.1\r\n"
        f"Host: {host_text(target)}\r\n"
        "Accept: */*\r\n"
        "Accept-Encoding: gzip\r\n"
        "Content-Type: application/ipp\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        "\r\n"
    ).encode("ascii")


NEEDS = Needs(substrings=(b"ipp",))


def match(data: bytes) -> str | None:
    if contains(data, b"ipp") and contains(data, b"200 OK"):
        if contains(data, b"attributes-charset", b"print"):
            return "ipp"
    return None


HANDSHAKE = Handshake("ipp", "HTTP POST /ipp with application/ipp", False, probe, match, NEEDS)
