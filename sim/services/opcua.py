"""OPC UA server's binary transport, imitating an open62541 or Prosys server as far as the
connection handshake (OPC 10000-6 §7.1.2: message header, Hello, Acknowledge, Error).

The client opens with Hello (`HELF`): protocol version, buffer sizes, limits and the
endpoint URL. The server answers Acknowledge (`ACKF`) with the buffer sizes both sides can
use (the smaller of each pair, at least 8192) and its own limits. An endpoint URL that is
not `opc.tcp://...` or too long gets Error (`ERRF`) BadTcpEndpointUrlInvalid; a first
message of another type gets BadTcpMessageTypeInvalid. After the Acknowledge the client
would open a secure channel; this server accepts only the security policies it is
configured with, which the scanner has none of, so OpenSecureChannel gets
BadSecurityPolicyRejected. Every Error ends the connection.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, send

BAD_TCP_MESSAGE_TYPE_INVALID = 0x807E0000
BAD_TCP_ENDPOINT_URL_INVALID = 0x80830000
BAD_SECURITY_POLICY_REJECTED = 0x80550000
MAX_URL = 4096
SERVER_BUFFER, MAX_MESSAGE, MAX_CHUNKS = 65535, 16 * 1024 * 1024, 5000
MIN_BUFFER = 8192


def error(status: int, reason: str) -> bytes:
    encoded = reason.encode()
    body = struct.pack("<Ii", status, len(encoded)) + encoded
    return b"ERRF" + struct.pack("<I", 8 + len(body)) + body


class OpcuaService(Service):
    label = "opcua"

    async def serve(self, reader, writer):
        header = await read_exactly(reader, 8)
        size, = struct.unpack_from("<I", header, 4)
        if header[:4] != b"HELF" or not 32 <= size <= MAX_URL + 32:
            await send(writer, error(BAD_TCP_MESSAGE_TYPE_INVALID, "Expected a Hello message"))
            return
        body = await read_exactly(reader, size - 8)
        _, receive_buffer, send_buffer, _, _, url_length = struct.unpack_from("<IIIIIi", body)
        url = body[24:24 + max(url_length, 0)]
        if not url.startswith(b"opc.tcp://") or len(url) != url_length:
            await send(writer, error(BAD_TCP_ENDPOINT_URL_INVALID, "Invalid endpoint URL"))
            return
        # Our receive buffer is bounded by what the client sends, and the other way round.
        our_receive = max(min(send_buffer, SERVER_BUFFER), MIN_BUFFER)
        our_send = max(min(receive_buffer, SERVER_BUFFER), MIN_BUFFER)
        acknowledge = struct.pack("<IIIII", 0, our_receive, our_send, MAX_MESSAGE, MAX_CHUNKS)
        await send(writer, b"ACKF" + struct.pack("<I", 8 + len(acknowledge)) + acknowledge)
        header = await reader.read(8)
        if not header:
            return
        if header[:3] == b"OPN":
            await send(writer, error(BAD_SECURITY_POLICY_REJECTED, "The security policy is not supported"))
        else:
            await send(writer, error(BAD_TCP_MESSAGE_TYPE_INVALID, "Expected OpenSecureChannel"))
        raise ProtocolError("no secure channel")
