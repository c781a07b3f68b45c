"""PPTP server's control connection, imitating pptpd/poptop and router PPTP servers
(RFC 2637 §2.1-2.2, Start-Control-Connection-Request/Reply; §2.5 Echo).

Every control message starts with its length, message type 1 and the magic cookie
0x1A2B3C4D. A Start-Control-Connection-Request gets a Reply with result 1 (channel
established), protocol version 1.0, framing and bearer capabilities, host name and vendor.
Echo-Request gets Echo-Reply. A message whose cookie is wrong, or any message before the
start request, closes the connection, as RFC 2637 §2.1 makes servers do.

Options: `host_name` (default "local"), `vendor` (default "linux").
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

MAGIC_COOKIE = 0x1A2B3C4D
CONTROL_MESSAGE = 1
START_REQUEST, START_REPLY, ECHO_REQUEST, ECHO_REPLY = 1, 2, 5, 6
HEADER = struct.Struct(">HHIHH")  # length, message type, magic cookie, control type, reserved
RESULT_OK = 1
PROTOCOL_VERSION = 0x0100
FRAMING_ASYNC_SYNC, BEARER_ANALOG_DIGITAL = 3, 3


class PptpService(Service):
    label = "pptp"

    def start_reply(self) -> bytes:
        body = struct.pack(">HBBIIHH64s64s", PROTOCOL_VERSION, RESULT_OK, 0, FRAMING_ASYNC_SYNC,
                           BEARER_ANALOG_DIGITAL, 1, 1,
                           self.options.get("host_name", "local").encode(),
                           self.options.get("vendor", "linux").encode())
        return HEADER.pack(HEADER.size + len(body), CONTROL_MESSAGE, MAGIC_COOKIE, START_REPLY, 0) + body

    async def serve(self, reader, writer):
        started = False
        while header := await read_exactly_or_eof(reader, HEADER.size):
            length, message_type, cookie, control_type, _ = HEADER.unpack(header)
            if cookie != MAGIC_COOKIE or message_type != CONTROL_MESSAGE or not HEADER.size <= length <= 1024:
                raise ProtocolError("not a PPTP control message")
            body = await read_exactly(reader, length - HEADER.size)
            if control_type == START_REQUEST and not started:
                started = True
                await send(writer, self.start_reply())
            elif control_type == ECHO_REQUEST and started and len(body) >= 4:
                reply = body[:4] + struct.pack(">BBH", RESULT_OK, 0, 0)
                await send(writer, HEADER.pack(HEADER.size + len(reply), CONTROL_MESSAGE, MAGIC_COOKIE,
                                               ECHO_REPLY, 0) + reply)
            elif not started:
                raise ProtocolError("control message before Start-Control-Connection-Request")
