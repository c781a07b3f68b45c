"""IPMI BMC's RMCP/IPMI v1.5 session-less messaging, imitating a server's BMC (IPMI v2.0
specification §13.1-13.6 RMCP and IPMI LAN packets, §22.13 Get Channel Authentication
Capabilities). Real BMCs speak RMCP on UDP 623; the scanner sends the same bytes over TCP,
which is what this serves.

Each request is an RMCP header (version 6, sequence 0xFF, class IPMI), a v1.5 session header
with authentication type none and a message: rsAddr, netFn/LUN, checksum, rqAddr, rqSeq,
command, data, checksum. Get Channel Authentication Capabilities (netFn App 0x06, command
0x38) is answered with the supported authentication types (MD5, password), per-message and
user-level authentication and IPMI v2.0 support; other commands get completion code 0xC1
(invalid command). A packet that is not RMCP/IPMI is ignored and the connection closed.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

RMCP_HEADER = bytes([0x06, 0x00, 0xFF, 0x07])
NETFN_APP_REQUEST = 0x06
GET_CHANNEL_AUTH_CAPABILITIES = 0x38
COMPLETION_OK, COMPLETION_INVALID_COMMAND = 0x00, 0xC1
AUTH_TYPES = 0x80 | 0x04 | 0x10  # IPMI v2.0 extended capabilities, MD5, straight password


def checksum(data: bytes) -> int:
    """IPMI 2's-complement checksum: the bytes plus it sum to zero."""
    return -sum(data) & 0xFF


class IpmiService(Service):
    label = "ipmi"

    def answer(self, message: bytes) -> bytes:
        rs_address, netfn_lun, _, rq_address, rq_seq, command = message[:6]
        if netfn_lun >> 2 == NETFN_APP_REQUEST and command == GET_CHANNEL_AUTH_CAPABILITIES:
            channel = message[6] & 0x0F if len(message) > 7 else 0x0E
            channel = 1 if channel == 0x0E else channel  # 0x0E asks about the channel in use
            data = bytes([COMPLETION_OK, channel, AUTH_TYPES, 0x14, 0x02, 0, 0, 0, 0])
        else:
            data = bytes([COMPLETION_INVALID_COMMAND])
        # A response's netFn is the request's plus one (odd); the requester's LUN comes back.
        head = bytes([rq_address, (((netfn_lun >> 2) | 1) << 2) | (rq_seq & 0x03)])
        body = bytes([rs_address, rq_seq, command]) + data
        return head + bytes([checksum(head)]) + body + bytes([checksum(body)])

    async def serve(self, reader, writer):
        while header := await read_exactly_or_eof(reader, 4):
            if header != RMCP_HEADER:
                raise ProtocolError("not RMCP/IPMI")
            auth_type, _, _, length = struct.unpack(">BIIB", await read_exactly(reader, 10))
            if auth_type != 0 or length < 7:
                raise ProtocolError("only session-less IPMI v1.5 messages are served")
            reply = self.answer(await read_exactly(reader, length))
            await send(writer, RMCP_HEADER + struct.pack(">BIIB", 0, 0, 0, len(reply)) + reply)
