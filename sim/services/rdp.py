"""RDP server's X.224 connection phase, imitating Windows/xrdp ([MS-RDPBCGR] §2.2.1.1
Client X.224 Connection Request, §2.2.1.2 Server X.224 Connection Confirm, §2.2.1.2.1
RDP_NEG_RSP, §2.2.1.2.2 RDP_NEG_FAILURE).

The Connection Confirm echoes the client's source reference as its destination reference
and uses 0x1234 as its own, as xrdp does. If the request carries an RDP_NEG_REQ, the server
picks the strongest protocol it supports among those requested (TLS, else standard RDP
security) and returns RDP_NEG_RSP; if the client offers only CredSSP/others it cannot
serve, it returns RDP_NEG_FAILURE. A request with no negotiation part gets a bare CC
(standard RDP security). Data that is not a TPKT-framed CR closes the connection; after
the confirm the server waits for the TLS handshake or MCS data and closes on anything else.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import Service, send
from lzr_sim.services.tpkt import connection_confirm, read_connection_request, tpkt

SERVER_REFERENCE = 0x1234
TYPE_NEG_REQ, TYPE_NEG_RSP, TYPE_NEG_FAILURE = 0x01, 0x02, 0x03
PROTOCOL_RDP, PROTOCOL_SSL = 0x0, 0x1
FLAGS_RESPONSE = 0x1F  # extended client data, graphics pipeline, restricted admin, redirected auth
HYBRID_REQUIRED_BY_SERVER = 0x5


def negotiation(variable_part: bytes) -> bytes:
    """The RDP_NEG_RSP or RDP_NEG_FAILURE for the request's variable part (empty if none)."""
    # The optional routing token or cookie is a CRLF-terminated line before RDP_NEG_REQ.
    cookie_end = variable_part.find(b"\r\n")
    request = variable_part[cookie_end + 2:] if cookie_end >= 0 else variable_part
    if len(request) < 8 or request[0] != TYPE_NEG_REQ:
        return b""
    requested, = struct.unpack_from("<I", request, 4)
    if requested & PROTOCOL_SSL:
        return struct.pack("<BBHI", TYPE_NEG_RSP, FLAGS_RESPONSE, 8, PROTOCOL_SSL)
    if requested == PROTOCOL_RDP:
        return struct.pack("<BBHI", TYPE_NEG_RSP, FLAGS_RESPONSE, 8, PROTOCOL_RDP)
    return struct.pack("<BBHI", TYPE_NEG_FAILURE, 0, 8, HYBRID_REQUIRED_BY_SERVER)


class RdpService(Service):
    label = "rdp"

    async def serve(self, reader, writer):
        request = await read_connection_request(reader)
        if request is None:
            return
        answer = negotiation(request.variable_part)
        await send(writer, tpkt(connection_confirm(request, SERVER_REFERENCE, answer)))
        if answer[:1] == bytes([TYPE_NEG_FAILURE]):
            return
        # The client now starts TLS or sends MCS Connect Initial; this simulator stops here.
        while await reader.read(65536):
            pass
