"""Kafka broker's first exchange, imitating Apache Kafka 3.x (Kafka protocol guide: request
header v1, "ApiVersions API (Key: 18)", error code 35 UNSUPPORTED_VERSION).

A request is size-prefixed: api key, api version, correlation id, client id. ApiVersions
versions 0-3 are answered with the broker's API key ranges (in the version-0 body layout
for 0-2: error code, then [api key, min, max]; version 3 uses its compact layout); a higher
version gets error 35 in a version-0 body, which is how brokers let a client fall back.
Clients send ApiVersions first; any other request before it, or a size beyond
socket.request.max.bytes, makes this broker close the connection.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

API_VERSIONS = 18
UNSUPPORTED_VERSION = 35
MAX_REQUEST = 100 * 1024 * 1024
# (api key, min version, max version) of a Kafka 3.6 broker, the common ones.
API_KEYS = ((0, 0, 9), (1, 0, 15), (2, 0, 8), (3, 0, 12), (8, 0, 8), (9, 0, 8), (10, 0, 4),
            (11, 0, 9), (12, 0, 4), (13, 0, 5), (14, 0, 5), (15, 0, 5), (16, 0, 4), (17, 0, 1),
            (18, 0, 3), (19, 0, 7), (20, 0, 6), (22, 0, 4), (32, 0, 4), (36, 0, 2))


def unsigned_varint(value: int) -> bytes:
    out = b""
    while value >= 0x80:
        out += bytes([value & 0x7F | 0x80])
        value >>= 7
    return out + bytes([value])


def api_versions_body(version: int) -> bytes:
    if version > 3:
        return struct.pack(">hi", UNSUPPORTED_VERSION, 1) + struct.pack(">hhh", API_VERSIONS, 0, 3)
    if version == 3:  # flexible version: compact array, tagged fields
        entries = b"".join(struct.pack(">hhh", *entry) + b"\x00" for entry in API_KEYS)
        throttle, no_tags = struct.pack(">i", 0), b"\x00"
        return struct.pack(">h", 0) + unsigned_varint(len(API_KEYS) + 1) + entries + throttle + no_tags
    entries = b"".join(struct.pack(">hhh", *entry) for entry in API_KEYS)
    throttle = struct.pack(">i", 0) if version >= 1 else b""
    return struct.pack(">hi", 0, len(API_KEYS)) + entries + throttle


class KafkaService(Service):
    label = "kafka"

    async def serve(self, reader, writer):
        while size_bytes := await read_exactly_or_eof(reader, 4):
            size, = struct.unpack(">i", size_bytes)
            if not 8 <= size <= MAX_REQUEST:
                raise ProtocolError("invalid request size")
            request = await read_exactly(reader, size)
            api_key, api_version, correlation = struct.unpack_from(">hhi", request)
            if api_key != API_VERSIONS:
                raise ProtocolError("request before ApiVersions")
            # The response header is the correlation id (ApiVersions never uses header v1 tags).
            response = struct.pack(">i", correlation) + api_versions_body(api_version)
            await send(writer, struct.pack(">i", len(response)) + response)
