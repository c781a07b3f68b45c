"""Kafka ApiVersions.

An ApiVersions request, version 0 (Kafka protocol guide, "ApiVersions API (Key: 18)"):
size, api_key 18, api_version 0, a correlation id, client id `lzr`. Every broker since
0.10 answers it, with error code 35 (UNSUPPORTED_VERSION) in a v0 body if it no longer
speaks v0, and echoes the correlation id right after the size, which is what the rule looks
for: four chosen bytes in a fixed place are as specific as a magic number.
"""
import struct

from lzr.handshakes.base import Handshake, Needs, constant

CORRELATION_ID = b"LZR!"
CLIENT_ID = b"lzr"
API_VERSIONS = 18
BODY = (
    struct.pack(">hh", API_VERSIONS, 0)
    + CORRELATION_ID
    + struct.pack(">h", len(CLIENT_ID))
    + CLIENT_ID
)
PROBE = struct.pack(">i", len(BODY)) + BODY

ERROR_CODES = (b"\x00\x00", b"\x00\x23")  # none, UNSUPPORTED_VERSION

NEEDS = Needs(byte_in=CORRELATION_ID[:1], at=4)


def match(data: bytes) -> str | None:
    if len(data) >= 10 and data[4:8] == CORRELATION_ID and data[8:10] in ERROR_CODES:
        return "kafka"
    return None


HANDSHAKE = Handshake("kafka", "Kafka ApiVersions v0", False, constant(PROBE), match, NEEDS)
