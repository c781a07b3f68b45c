"""Oracle Net (TNS) listener, imitating tnslsnr of Oracle 19c (TNS packet format as
described in Oracle's Net Services documentation and Wireshark's TNS dissector).

A TNS packet starts with its length, a checksum, the packet type and flags. A CONNECT
(type 1) carries a connect descriptor. If the descriptor names a SERVICE_NAME or SID the
listener knows (option `services`, default ["ORCL"]), the listener ACCEPTs (type 2) and
waits for the session; if it names another, it REFUSEs (type 4) with TNS-12514; if it
names none (the scanner's probe only carries CID), it REFUSEs with TNS-12504. Refusals
carry the listener's "(DESCRIPTION=(TMP=)(VSNNUM=...)(ERR=...)(ERROR_STACK=(ERROR=
(CODE=...)(EMFI=4))))" text and the listener then closes. Anything that is not a TNS
CONNECT is dropped with the connection.

Options: `services` (service names and SIDs the listener knows, default ["ORCL"]).
"""
from __future__ import annotations

import re
import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

CONNECT, ACCEPT, REFUSE = 1, 2, 4
HEADER = struct.Struct(">HHBBH")  # length, packet checksum, type, flags, header checksum
VERSION, SDU, TDU = 0x0138, 0x2000, 0xFFFF
VSNNUM = 0x13000000  # 19.0.0.0.0
SERVICE_NAME = re.compile(rb"\((?:SERVICE_NAME|SID)=([^)]*)\)", re.IGNORECASE)


def packet(kind: int, body: bytes) -> bytes:
    return HEADER.pack(HEADER.size + len(body), 0, kind, 0, 0) + body


def refuse(error: int) -> bytes:
    text = (f"(DESCRIPTION=(TMP=)(VSNNUM={VSNNUM})(ERR={error})"
            f"(ERROR_STACK=(ERROR=(CODE={error})(EMFI=4))))").encode()
    return packet(REFUSE, struct.pack(">BBH", 0x22, 0x00, len(text)) + text)


def accept() -> bytes:
    body = struct.pack(">HHHHHHHBB", VERSION, 0x0C41, SDU, TDU, 0x0100, 0, HEADER.size + 16, 0x41, 0x01)
    return packet(ACCEPT, body)


class OracleService(Service):
    label = "oracle"

    async def serve(self, reader, writer):
        header = await read_exactly_or_eof(reader, HEADER.size)
        if not header:
            return
        length, _, kind, _, _ = HEADER.unpack(header)
        if kind != CONNECT or not HEADER.size + 26 <= length <= 8192:
            raise ProtocolError("not a TNS CONNECT")
        body = await read_exactly(reader, length - HEADER.size)
        data_length, data_offset = struct.unpack_from(">HH", body, 16)
        descriptor = body[data_offset - HEADER.size: data_offset - HEADER.size + data_length]
        if not descriptor.startswith(b"("):
            raise ProtocolError("CONNECT without a connect descriptor")
        found = SERVICE_NAME.search(descriptor)
        known = {name.upper() for name in self.options.get("services", ["ORCL"])}
        if found is None:
            await send(writer, refuse(12504))
        elif found.group(1).decode("ascii", "replace").upper() not in known:
            await send(writer, refuse(12514))
        else:
            await send(writer, accept())
            while await reader.read(65536):
                pass
