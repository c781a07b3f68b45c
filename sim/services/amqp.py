"""AMQP 0-9-1 broker's connection start, imitating RabbitMQ (AMQP 0-9-1 specification §4.2.2,
§4.2.3; class connection, method start).

The client opens with an 8-byte protocol header. "AMQP\\x00\\x00\\x09\\x01" is answered with a
Connection.Start method frame (version 0-9, server properties, mechanisms PLAIN AMQPLAIN,
locale en_US), after which the client's frames are read and discarded until it closes. Any
other header, including AMQP 1.0's "AMQP\\x00\\x01\\x00\\x00", is answered with the header of
the version the broker does speak, and the connection is closed: the rule the
specification gives for version negotiation.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_METHOD, FRAME_END = 1, 0xCE
CLASS_CONNECTION, METHOD_START = 10, 10


def short_string(text: str) -> bytes:
    return bytes([len(text)]) + text.encode()


def long_string(text: str) -> bytes:
    return struct.pack(">I", len(text)) + text.encode()


def field_table(fields: dict[str, str]) -> bytes:
    body = b"".join(short_string(key) + b"S" + long_string(value) for key, value in fields.items())
    return struct.pack(">I", len(body)) + body


def connection_start() -> bytes:
    properties = {"product": "RabbitMQ", "version": "3.10.8", "platform": "Erlang/OTP 25.2.3",
                  "copyright": "Copyright (c) 2007-2022 VMware, Inc. or its affiliates."}
    arguments = (struct.pack(">HHBB", CLASS_CONNECTION, METHOD_START, 0, 9) + field_table(properties)
                 + long_string("PLAIN AMQPLAIN") + long_string("en_US"))
    return struct.pack(">BHI", FRAME_METHOD, 0, len(arguments)) + arguments + bytes([FRAME_END])


class AmqpService(Service):
    label = "amqp"

    async def serve(self, reader, writer):
        header = await read_exactly(reader, len(PROTOCOL_HEADER))
        if header != PROTOCOL_HEADER:
            await send(writer, PROTOCOL_HEADER)
            return
        await send(writer, connection_start())
        while True:
            frame_header = await read_exactly_or_eof(reader, 7)
            if not frame_header:
                return
            _, _, size = struct.unpack(">BHI", frame_header)
            if size > 131072:
                raise ProtocolError("frame larger than frame_max")
            if (await read_exactly(reader, size + 1))[-1] != FRAME_END:
                raise ProtocolError("missing frame end")
