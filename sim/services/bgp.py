"""BGP speaker, imitating BIRD/FRR towards a peer (RFC 4271 §4.1-4.2, §4.5, §6.1; RFC 5492
capabilities, RFC 6793 four-octet AS).

A speaker sends its OPEN as soon as the TCP connection is up, without waiting for the peer:
marker (16 x 0xFF), length, type 1, version 4, its AS, hold time, BGP identifier and
capabilities (multiprotocol IPv4 unicast, route refresh, four-octet AS). Then it reads
messages: a peer's OPEN is answered with KEEPALIVE, KEEPALIVE with KEEPALIVE; a message
whose marker is not all ones gets NOTIFICATION "Message Header Error / Connection Not
Synchronized", and a bad length "Bad Message Length"; after a NOTIFICATION the connection
closes.

Options: `asn` (default 64512), `router_id` (default "192.0.2.254"), `hold_time` (default 90).
"""
from __future__ import annotations

import ipaddress
import struct

from lzr_sim.services.base import Service, read_exactly, read_exactly_or_eof, send

MARKER = b"\xff" * 16
OPEN, NOTIFICATION, KEEPALIVE = 1, 3, 4
MESSAGE_HEADER_ERROR, CONNECTION_NOT_SYNCHRONIZED, BAD_MESSAGE_LENGTH = 1, 1, 2
AS_TRANS = 23456


def message(kind: int, body: bytes = b"") -> bytes:
    return MARKER + struct.pack(">HB", 19 + len(body), kind) + body


def capability(code: int, value: bytes) -> bytes:
    return bytes([2, len(value) + 2, code, len(value)]) + value  # optional parameter type 2


class BgpService(Service):
    label = "bgp"
    speaks_first = True

    def open_message(self) -> bytes:
        asn = int(self.options.get("asn", 64512))
        router_id = ipaddress.IPv4Address(self.options.get("router_id", "192.0.2.254"))
        parameters = (capability(1, struct.pack(">HBB", 1, 0, 1))  # multiprotocol: IPv4 unicast
                      + capability(2, b"")                        # route refresh
                      + capability(65, struct.pack(">I", asn)))   # four-octet AS number
        body = struct.pack(">BHH4sB", 4, asn if asn < 65536 else AS_TRANS,
                           int(self.options.get("hold_time", 90)), router_id.packed, len(parameters))
        return message(OPEN, body + parameters)

    async def serve(self, reader, writer):
        await send(writer, self.open_message())
        while header := await read_exactly_or_eof(reader, 19):
            if header[:16] != MARKER:
                error = bytes([MESSAGE_HEADER_ERROR, CONNECTION_NOT_SYNCHRONIZED])
                await send(writer, message(NOTIFICATION, error))
                return
            length, kind = struct.unpack_from(">HB", header, 16)
            if not 19 <= length <= 4096:
                await send(writer, message(NOTIFICATION, bytes([MESSAGE_HEADER_ERROR, BAD_MESSAGE_LENGTH])
                                           + struct.pack(">H", length)))
                return
            await read_exactly(reader, length - 19)
            if kind in (OPEN, KEEPALIVE):
                await send(writer, message(KEEPALIVE))
            elif kind == NOTIFICATION:
                return
