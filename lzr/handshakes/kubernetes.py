"""Kubernetes API server, reached with the TLS ClientHello.

LZR sends the same bytes as its `tls` handshake (docs/lzr-reference.md §3.1) and names
any reply that mentions kubernetes.
"""
from lzr.handshakes import tls
from lzr.handshakes.base import Handshake, Needs, contains

NEEDS = Needs(substrings=(b"kubernetes",))


def match(data: bytes) -> str | None:
    return "kubernetes" if contains(data, b"kubernetes") else None


HANDSHAKE = Handshake(
    "kubernetes", "TLS ClientHello; names replies mentioning kubernetes", False, tls.probe,
    match, NEEDS, same_probe_as="tls",
)
