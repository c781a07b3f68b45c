"""XMPP client stream header.

The initial stream header of RFC 6120 §4.7 with `to` set to the target and the
`jabber:client` namespace. The server answers with its own stream header, which declares
the streams namespace `http://etherx.jabber.org/streams` (§4.8.5) even when it goes on to
refuse the target as a host name with a stream error.
"""
from random import Random

from lzr.handshakes.base import Handshake, Needs, contains, host_text

STREAMS_NAMESPACE = b"http://etherx.jabber.org/streams"


def probe(target: str, rng: Random | None = None) -> bytes:
    return (
        "<?xml version='1.0'?>"
        f"<stream:stream to='{host_text(target)}' version='1.0' xmlns='jabber:client'"
        " xmlns:stream='http://etherx.jabber.org/streams'>"
    ).encode("ascii")


NEEDS = Needs(substrings=(STREAMS_NAMESPACE,))


def match(data: bytes) -> str | None:
    return "xmpp" if contains(data, STREAMS_NAMESPACE) else None


HANDSHAKE = Handshake("xmpp", "XMPP client stream header", False, probe, match, NEEDS)
