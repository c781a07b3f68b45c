"""Apache Cassandra's CQL native protocol, imitating Cassandra 4.1 before authentication
(native_protocol_v4.spec and v5: §2 frame header, §4.1.1 STARTUP, §4.1.3 OPTIONS, §4.2.1
ERROR, §4.2.2 READY, §4.2.4 SUPPORTED).

A request frame has a 9-byte header: version (3-5 for requests), flags, stream, opcode and
body length. OPTIONS is answered with SUPPORTED (a string multimap with CQL_VERSION,
COMPRESSION and PROTOCOL_VERSIONS), STARTUP with READY; other opcodes get ERROR "Protocol
error". A frame with an unsupported version gets ERROR 0x000A "Invalid or unsupported
protocol version" in a v4 header, as Cassandra answers, and the connection is closed.
Responses carry the request's stream id and version with the response bit 0x80.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

HEADER = struct.Struct(">BBhBI")  # version, flags, stream, opcode, body length
STARTUP, OPTIONS = 0x01, 0x05
ERROR, READY, SUPPORTED = 0x00, 0x02, 0x06
PROTOCOL_ERROR = 0x000A
VERSIONS = (3, 4, 5)
RESPONSE = 0x80
MAX_FRAME = 256 * 1024 * 1024


def string(text: str) -> bytes:
    return struct.pack(">H", len(text)) + text.encode()


def string_multimap(entries: dict[str, list[str]]) -> bytes:
    body = struct.pack(">H", len(entries))
    for key, values in entries.items():
        body += string(key) + struct.pack(">H", len(values)) + b"".join(string(value) for value in values)
    return body


def frame(version: int, stream: int, opcode: int, body: bytes) -> bytes:
    return HEADER.pack(RESPONSE | version, 0, stream, opcode, len(body)) + body


def error_body(message: str) -> bytes:
    return struct.pack(">i", PROTOCOL_ERROR) + string(message)


class CassandraService(Service):
    label = "cassandra"

    async def serve(self, reader, writer):
        while header := await read_exactly_or_eof(reader, HEADER.size):
            version, _, stream, opcode, length = HEADER.unpack(header)
            if version not in VERSIONS:
                message = (f"Invalid or unsupported protocol version ({version}); supported versions are "
                           "(3/v3, 4/v4, 5/v5, 6/v6-beta)")
                await send(writer, frame(4, stream, ERROR, error_body(message)))
                return
            if length > MAX_FRAME:
                raise ProtocolError("frame too large")
            await read_exactly(reader, length)
            if opcode == OPTIONS:
                body = string_multimap({"CQL_VERSION": ["3.4.6"], "COMPRESSION": ["snappy", "lz4"],
                                        "PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5", "6/v6-beta"]})
                await send(writer, frame(version, stream, SUPPORTED, body))
            elif opcode == STARTUP:
                await send(writer, frame(version, stream, READY, b""))
            else:
                message = f"Unexpected message {opcode:#04x}, expecting STARTUP or OPTIONS"
                await send(writer, frame(version, stream, ERROR, error_body(message)))
