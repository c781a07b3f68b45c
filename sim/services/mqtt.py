"""MQTT broker's session start, imitating Mosquitto (MQTT 3.1.1, OASIS standard §3.1-3.2, §3.12).

The first packet must be CONNECT. Protocol name "MQTT" level 4 (or "MQIsdp" level 3) with a
client id is accepted: CONNACK 20 02 00 00. An unsupported level gets CONNACK return code 1
and a zero-length client id without clean session code 2, then the connection closes, as the
specification requires. A first packet that is not CONNECT, or is malformed, closes the
connection without an answer. After a CONNECT, PINGREQ gets PINGRESP and DISCONNECT closes.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, send

CONNECT, CONNACK, PINGREQ, PINGRESP, DISCONNECT = 1, 2, 12, 13, 14
ACCEPTED, BAD_PROTOCOL_LEVEL, IDENTIFIER_REJECTED = 0, 1, 2
PROTOCOLS = {(b"MQTT", 4), (b"MQIsdp", 3)}


async def read_packet(reader) -> tuple[int, bytes] | None:
    """(packet type, body) of the next control packet, or None at EOF."""
    first = await reader.read(1)
    if not first:
        return None
    length, shift = 0, 0
    for _ in range(4):  # the remaining length is at most four 7-bit digits
        digit = (await read_exactly(reader, 1))[0]
        length += (digit & 0x7F) << shift
        shift += 7
        if not digit & 0x80:
            break
    else:
        raise ProtocolError("malformed remaining length")
    if length > 1 << 20:
        raise ProtocolError("packet too large for this broker")
    return first[0] >> 4, await read_exactly(reader, length)


def connect_result(body: bytes) -> int:
    """CONNACK return code for a CONNECT body (variable header and payload)."""
    try:
        name_length, = struct.unpack_from(">H", body)
        name = body[2:2 + name_length]
        level, flags = body[2 + name_length], body[3 + name_length]
        client_id_length, = struct.unpack_from(">H", body, 6 + name_length)
    except (struct.error, IndexError):
        raise ProtocolError("malformed CONNECT") from None
    if (name, level) not in PROTOCOLS:
        if name in (b"MQTT", b"MQIsdp"):
            return BAD_PROTOCOL_LEVEL
        raise ProtocolError("not MQTT")
    if client_id_length == 0 and not flags & 0x02:
        return IDENTIFIER_REJECTED
    return ACCEPTED


class MqttService(Service):
    label = "mqtt"

    async def serve(self, reader, writer):
        packet = await read_packet(reader)
        if packet is None or packet[0] != CONNECT:
            return
        result = connect_result(packet[1])
        await send(writer, bytes([CONNACK << 4, 2, 0, result]))
        if result != ACCEPTED:
            return
        while (packet := await read_packet(reader)) is not None:
            if packet[0] == PINGREQ:
                await send(writer, bytes([PINGRESP << 4, 0]))
            elif packet[0] in (DISCONNECT, CONNECT):  # a second CONNECT is a violation (§3.1)
                return
