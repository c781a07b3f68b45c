"""OpenVPN server over TCP, imitating OpenVPN 2.6 in TLS mode up to its TLS handshake
(OpenVPN's protocol overview, doc/doxygen/doc_protocol_overview.h: packet opcodes, session
ids, ACK arrays; over TCP each packet has a 2-byte length prefix).

A client's P_CONTROL_HARD_RESET_CLIENT_V2 (or V1) is answered with
P_CONTROL_HARD_RESET_SERVER_V2 (V1): the server's own random session id, an ACK of the
client's packet-id together with the client's session id, and message packet-id 0. The
client would then start TLS inside P_CONTROL_V1 packets; this simulator acknowledges
nothing further and closes when the client sends one. With option `tls_auth` true the
server behaves as with tls-auth or tls-crypt and a key the scanner lacks: it drops every
packet unread and never answers. Any other first packet closes the connection.
"""
from __future__ import annotations

import os
import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

HARD_RESET_CLIENT_V1, HARD_RESET_SERVER_V1 = 1, 2
HARD_RESET_CLIENT_V2, HARD_RESET_SERVER_V2 = 7, 8
ACK_V1 = 5
REPLY_TO = {HARD_RESET_CLIENT_V1: HARD_RESET_SERVER_V1, HARD_RESET_CLIENT_V2: HARD_RESET_SERVER_V2}
MAX_PACKET = 1600


async def read_packet(reader) -> bytes | None:
    size = await read_exactly_or_eof(reader, 2)
    if not size:
        return None
    length, = struct.unpack(">H", size)
    if not 1 <= length <= MAX_PACKET:
        raise ProtocolError("bad packet length")
    return await read_exactly(reader, length)


class OpenvpnService(Service):
    label = "openvpn"

    async def serve(self, reader, writer):
        packet = await read_packet(reader)
        if packet is None or self.options.get("tls_auth", False):
            while await reader.read(65536):  # dropped unread: the HMAC would not verify
                pass
            return
        opcode, key_id = packet[0] >> 3, packet[0] & 0x07
        # client packet: opcode/key, session id (8), ACK count (0 here), packet-id (4)
        if opcode not in REPLY_TO or len(packet) < 14 or packet[9] != 0:
            raise ProtocolError("not a client hard reset")
        client_session, client_packet_id = packet[1:9], packet[10:14]
        reply = (bytes([REPLY_TO[opcode] << 3 | key_id]) + os.urandom(8) + b"\x01" + client_packet_id
                 + client_session + struct.pack(">I", 0))
        await send(writer, struct.pack(">H", len(reply)) + reply)
        while (packet := await read_packet(reader)) is not None:
            if packet[0] >> 3 != ACK_V1:
                return
