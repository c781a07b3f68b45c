"""Cassandra CQL native protocol OPTIONS.

A 9-byte frame header of the CQL binary protocol v4 (native_protocol_v4.spec §2, §4.1.3):
version 0x04 (request), no flags, stream 0, opcode 0x05 OPTIONS, empty body. The server
answers SUPPORTED (opcode 0x06) listing CQL_VERSION and COMPRESSION; a server without v4
answers ERROR (opcode 0x00) about the protocol version, with its own version in the header.
Responses have the direction bit 0x80 set in the version byte (§2.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = bytes.fromhex("04" "00" "0000" "05" "00000000")

RESPONSE_VERSIONS = frozenset((0x83, 0x84, 0x85, 0x86))
SUPPORTED = 0x06
ERROR = 0x00

NEEDS = Needs(byte_in=bytes(RESPONSE_VERSIONS))


def match(data: bytes) -> str | None:
    if len(data) < 9 or data[0] not in RESPONSE_VERSIONS:
        return None
    if data[4] == SUPPORTED and contains(data, b"CQL_VERSION"):
        return "cassandra"
    if data[4] == ERROR and contains(data, b"protocol version"):
        return "cassandra"
    return None


HANDSHAKE = Handshake("cassandra", "CQL v4 OPTIONS", False, constant(PROBE), match, NEEDS)
