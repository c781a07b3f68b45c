"""AJP13 connector of a servlet container, imitating Apache Tomcat's AJP/1.3 connector
(Apache Tomcat Connectors, "AJPv13 protocol").

Packets from the web server start with the magic 0x1234 and a 2-byte length. A CPing
(type 10) is answered with CPong: "AB", length 1, type 9. A Forward Request (type 2) is
answered as Tomcat answers a request it has no context for: Send Headers (type 4) with
status 404, then End Response (type 5) with reuse set. A packet with the wrong magic or an
unknown type closes the connection, as Tomcat does.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

REQUEST_MAGIC = 0x1234
FORWARD_REQUEST, CPING = 2, 10
SEND_HEADERS, END_RESPONSE, CPONG = 4, 5, 9
MAX_PACKET = 8192


def container_packet(payload: bytes) -> bytes:
    return b"AB" + struct.pack(">H", len(payload)) + payload


def ajp_string(text: str) -> bytes:
    return struct.pack(">H", len(text)) + text.encode() + b"\x00"


def not_found() -> bytes:
    headers = (bytes([SEND_HEADERS]) + struct.pack(">H", 404) + ajp_string("Not Found")
               + struct.pack(">H", 1) + struct.pack(">H", 0xA001) + ajp_string("text/html;charset=utf-8"))
    return container_packet(headers) + container_packet(bytes([END_RESPONSE, 1]))


class Ajp13Service(Service):
    label = "ajp13"

    async def serve(self, reader, writer):
        while header := await read_exactly_or_eof(reader, 4):
            magic, length = struct.unpack(">HH", header)
            if magic != REQUEST_MAGIC or not 1 <= length <= MAX_PACKET:
                raise ProtocolError("not an AJP13 packet from a web server")
            payload = await read_exactly(reader, length)
            if payload[0] == CPING:
                await send(writer, container_packet(bytes([CPONG])))
            elif payload[0] == FORWARD_REQUEST:
                await send(writer, not_found())
            else:
                raise ProtocolError("unknown AJP13 packet type")
