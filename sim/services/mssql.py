"""Microsoft SQL Server's PRELOGIN exchange ([MS-TDS] §2.2.6.5 PRELOGIN, §2.2.3.1 packet
header), imitating SQL Server 2019 without a certificate for TLS.

The client's first packet must be a PRELOGIN (type 0x12). The server answers with a TDS
tabular-result packet (type 0x04, status EOM) carrying its own PRELOGIN options: VERSION
15.0.2000, ENCRYPTION NOT_SUP (or ON if the client requires it), INSTOPT (accepting the
client's instance), THREADID and MARS off. A first packet of another type or with a
malformed option list closes the connection, as SQL Server does.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

PRELOGIN, TABULAR_RESULT = 0x12, 0x04
STATUS_EOM = 0x01
HEADER = struct.Struct(">BBHHBB")  # type, status, length, SPID, packet id, window
VERSION, ENCRYPTION, INSTOPT, THREADID, MARS, TERMINATOR = 0, 1, 2, 3, 4, 0xFF
ENCRYPT_ON, ENCRYPT_NOT_SUP, ENCRYPT_REQ = 1, 2, 3


def parse_options(payload: bytes) -> dict[int, bytes]:
    """PRELOGIN option tokens (token, offset, length) and their data."""
    options, position = {}, 0
    while True:
        if position >= len(payload):
            raise ProtocolError("option list without terminator")
        token = payload[position]
        if token == TERMINATOR:
            return options
        if position + 5 > len(payload):
            raise ProtocolError("truncated option")
        offset, length = struct.unpack_from(">HH", payload, position + 1)
        if offset + length > len(payload):
            raise ProtocolError("option data outside the packet")
        options[token] = payload[offset:offset + length]
        position += 5


def build_options(options: list[tuple[int, bytes]]) -> bytes:
    table_size = 5 * len(options) + 1
    table, data = b"", b""
    for token, value in options:
        table += struct.pack(">BHH", token, table_size + len(data), len(value))
        data += value
    return table + bytes([TERMINATOR]) + data


class MssqlService(Service):
    label = "mssql"

    async def serve(self, reader, writer):
        header = await read_exactly_or_eof(reader, HEADER.size)
        if not header:
            return
        kind, _, length, _, _, _ = HEADER.unpack(header)
        if kind != PRELOGIN or not HEADER.size < length <= 4096:
            raise ProtocolError("not a TDS PRELOGIN")
        client = parse_options(await read_exactly(reader, length - HEADER.size))
        wants_encryption = client.get(ENCRYPTION, b"\x00")[:1] in (bytes([ENCRYPT_ON]), bytes([ENCRYPT_REQ]))
        payload = build_options([
            (VERSION, struct.pack(">BBHH", 15, 0, 2000, 0)),
            (ENCRYPTION, bytes([ENCRYPT_ON if wants_encryption else ENCRYPT_NOT_SUP])),
            (INSTOPT, b"\x00"),
            (THREADID, b""),
            (MARS, b"\x00"),
        ])
        header = HEADER.pack(TABULAR_RESULT, STATUS_EOM, HEADER.size + len(payload), 0, 1, 0)
        await send(writer, header + payload)
        while await reader.read(65536):
            pass
