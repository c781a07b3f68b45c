"""HTTP/1.1 GET.

The request is byte-for-byte the one LZR sends (docs/lzr-reference.md §3.3): Go's
request dump with its header keys in sorted order and LZR's browser User-Agent, which ends in
`Safari/537.3` (sic). The rule is LZR's (§3.1): any mention of HTTP or HTML, unless the
server says `HTTPS` (a plain-HTTP request to a TLS port), which the tls rule claims instead.
"""
from random import Random

from lzr.handshakes.base import Handshake, Needs, contains, host_text

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.3"
)


def probe(target: str, rng: Random | None = None) -> bytes:
    return (
        "GET / HTTP/1.1\r\n"
        f"Host: {host_text(target)}\r\n"
        "Accept: */*\r\n"
        "Accept-Encoding: gzip\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        "\r\n"
    ).encode("ascii")


NEEDS = Needs(substrings=(b"HTTP", b"html", b"<h1>"))


def match(data: bytes) -> str | None:
    # Same test as LZR's, one scan shorter: without HTTP there can be no HTTPS.
    if contains(data, b"HTTP"):
        return None if contains(data, b"HTTPS") else "http"
    if contains(data, b"html", b"HTML", b"<h1>"):
        return "http"
    return None


HANDSHAKE = Handshake(
    "http", "HTTP/1.1 GET / with a browser User-Agent", False, probe, match, NEEDS
)
