"""Java RMI transport header.

The RMI transport protocol's stream header (Java RMI specification §10.2.1): magic `JRMI`,
version 2, StreamProtocol (0x4b). The server answers ProtocolAck (0x4e) followed by the
endpoint it sees for us, a Java modified-UTF-8 host string (2-byte length) and a 4-byte port
(§10.2.2) — all in one segment from Java's implementation.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = b"JRMI" + bytes.fromhex("0002" "4b")
PROTOCOL_ACK = 0x4E

NEEDS = Needs(byte_in=bytes((PROTOCOL_ACK,)))


def match(data: bytes) -> str | None:
    if len(data) < 7 or data[0] != PROTOCOL_ACK:
        return None
    host_length = int.from_bytes(data[1:3], "big")
    if len(data) == 7 + host_length and data[3:3 + host_length].isascii():
        return "java_rmi"
    return None


HANDSHAKE = Handshake(
    "java_rmi", "Java RMI stream protocol header", False, constant(PROBE), match, NEEDS
)
