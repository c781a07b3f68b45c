"""PostgreSQL server's startup phase, imitating postgres 15 without TLS keys configured
(Frontend/Backend Protocol, "Message Flow: Start-up", "SSL Session Encryption").

The first message is length-prefixed. SSLRequest (code 80877103) and GSSENCRequest
(80877104) are answered with the single byte 'N' (not supported here), after which the
client may send its StartupMessage. A protocol 3.0 StartupMessage gets an ErrorResponse
FATAL 28000 "no pg_hba.conf entry" (the scanner is nobody the server knows); another
protocol version gets FATAL 0A000. A length outside the server's limits is not a startup
packet: postgres only logs "invalid length of startup packet" and closes; so does this.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, send

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
PROTOCOL_3 = 3 << 16
MAX_STARTUP_PACKET = 10000


def error_response(code: str, message: str) -> bytes:
    fields = b"".join(tag + value.encode() + b"\x00" for tag, value in
                      ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message)))
    body = fields + b"\x00"
    return b"E" + struct.pack(">I", len(body) + 4) + body


def startup_parameters(body: bytes) -> dict[str, str]:
    words = body.split(b"\x00")
    return {words[i].decode("utf-8", "replace"): words[i + 1].decode("utf-8", "replace")
            for i in range(0, len(words) - 1, 2) if words[i]}


class PostgresService(Service):
    label = "postgres"

    async def serve(self, reader, writer):
        while True:
            length, = struct.unpack(">I", await read_exactly(reader, 4))
            if not 8 <= length <= MAX_STARTUP_PACKET:
                raise ProtocolError("invalid length of startup packet")
            body = await read_exactly(reader, length - 4)
            code, = struct.unpack(">I", body[:4])
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                await send(writer, b"N")
                continue
            if code != PROTOCOL_3:
                await send(writer, error_response(
                    "0A000", f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: "
                             "server supports 3.0 to 3.0"))
                return
            parameters = startup_parameters(body[4:])
            user = parameters.get("user", "")
            await send(writer, error_response(
                "28000", f'no pg_hba.conf entry for host "{writer.get_extra_info("peername")[0]}", '
                         f'user "{user}", database "{parameters.get("database", user)}", no encryption'))
            return
