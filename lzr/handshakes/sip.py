"""SIP OPTIONS over TCP.

An OPTIONS request (RFC 3261 §11) with the mandatory headers of §8.1.1 and a Via for TCP
(§18). Our own address is not known here, so Via and From use the reserved name
`lzr.invalid` (RFC 6761): over TCP the response comes back on the same connection
(§18.2.2) anyway. A SIP server's reply starts with the status line `SIP/2.0 <code>`
(§7.2).
"""
from random import Random

from lzr.handshakes.base import Handshake, Needs, host_text


def probe(target: str, rng: Random | None = None) -> bytes:
    host = host_text(target)
    return (
        f"OPTIONS sip:{host} SIP/2.0\r\n"
        "Via: SIP/2.0/TCP lzr.invalid;branch=z9hG4bK-lzr-options\r\n"
        "Max-Forwards: 70\r\n"
        f"To: <sip:{host}>\r\n"
        "From: <sip:lzr@lzr.invalid>;tag=lzr\r\n"
        "Call-ID: lzr-options@lzr.invalid\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Accept: application/sdp\r\n"
        "Content-Length: 0\r\n"
        "\r\n"
    ).encode("ascii")


NEEDS = Needs(byte_in=b"S")


def match(data: bytes) -> str | None:
    if data.startswith(b"SIP/2.0 ") and data[8:11].isdigit():
        return "sip"
    return None


HANDSHAKE = Handshake("sip", "SIP OPTIONS over TCP", False, probe, match, NEEDS)
