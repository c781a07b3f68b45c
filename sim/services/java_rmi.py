"""Java RMI registry's transport layer, imitating the JDK's `sun.rmi.transport.tcp`
(Java RMI specification §10.2 "RMI Transport Protocol").

The client opens with "JRMI", version 2 and a protocol byte. StreamProtocol (0x4B) is
acknowledged with ProtocolAck (0x4E) and the client's endpoint as the server sees it
(modified-UTF-8 host, 4-byte port), in one write, as the JDK does; SingleOpProtocol (0x4C)
gets no acknowledgement; MultiplexProtocol (0x4D) gets ProtocolNotSupported (0x4F). Then
the client's endpoint and its messages are read until it closes (calls are not executed).
A header without the magic closes the connection.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import Service, read_exactly, send

MAGIC = b"JRMI"
STREAM_PROTOCOL, SINGLE_OP_PROTOCOL = 0x4B, 0x4C
PROTOCOL_ACK, PROTOCOL_NOT_SUPPORTED = 0x4E, 0x4F


class JavaRmiService(Service):
    label = "java_rmi"

    async def serve(self, reader, writer):
        header = await read_exactly(reader, 7)
        if header[:4] != MAGIC or header[4:6] != b"\x00\x02":
            return
        protocol = header[6]
        if protocol == STREAM_PROTOCOL:
            host, port = writer.get_extra_info("peername")[:2]
            await send(writer, bytes([PROTOCOL_ACK]) + struct.pack(">H", len(host)) + host.encode()
                       + struct.pack(">I", port))
        elif protocol != SINGLE_OP_PROTOCOL:
            await send(writer, bytes([PROTOCOL_NOT_SUPPORTED]))
            return
        while await reader.read(65536):
            pass
