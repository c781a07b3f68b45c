"""MySQL server's connection phase, imitating MySQL 8.0 (Client/Server protocol,
"Protocol::HandshakeV10").

On connect the server sends the v10 handshake (sequence id 0, protocol 10, version string,
connection id, 20-byte scramble, capabilities, auth plugin caching_sha2_password). It reads
the client's HandshakeResponse: a packet with the wrong sequence id gets "Got packets out of
order" (1156, 08S01), one that is too short to be one gets "Bad handshake"
(ER_HANDSHAKE_ERROR 1043, SQLSTATE 08S01); any well-formed one gets "Access denied"
(1045, 28000) as the scanner has no account. Either way the server then closes.

Options: `version` (default "8.0.36").
"""
from __future__ import annotations

import itertools
import os
import struct

from lzr_sim.services.base import Service, read_exactly, send

CAPABILITIES = 0xDFFFFFFF & ~0x00000800  # everything but CLIENT_SSL (0x800), as without TLS keys
CHARSET_UTF8MB4 = 255
STATUS_AUTOCOMMIT = 0x0002
_connection_ids = itertools.count(8)


def packet(sequence: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


def error(sequence: int, code: int, state: str, message: str) -> bytes:
    return packet(sequence, b"\xff" + struct.pack("<H", code) + b"#" + state.encode() + message.encode())


def greeting(version: str) -> bytes:
    scramble = bytes(byte % 94 + 33 for byte in os.urandom(20))  # printable, as MySQL makes it
    payload = (bytes([10]) + version.encode() + b"\x00" + struct.pack("<I", next(_connection_ids))
               + scramble[:8] + b"\x00" + struct.pack("<H", CAPABILITIES & 0xFFFF)
               + bytes([CHARSET_UTF8MB4]) + struct.pack("<H", STATUS_AUTOCOMMIT)
               + struct.pack("<H", CAPABILITIES >> 16) + bytes([21]) + bytes(10)
               + scramble[8:] + b"\x00" + b"caching_sha2_password\x00")
    return packet(0, payload)


class MysqlService(Service):
    label = "mysql"
    speaks_first = True

    async def serve(self, reader, writer):
        await send(writer, greeting(self.options.get("version", "8.0.36")))
        header = await read_exactly(reader, 4)
        length, sequence = int.from_bytes(header[:3], "little"), header[3]
        if sequence != 1:
            await send(writer, error(2, 1156, "08S01", "Got packets out of order"))
            return
        body = await read_exactly(reader, min(length, 1 << 16))
        # HandshakeResponse41: capabilities(4) max-packet(4) charset(1) filler(23) user NUL ...
        if length < 33 or b"\x00" not in body[32:]:
            await send(writer, error(2, 1043, "08S01", "Bad handshake"))
            return
        user = body[32:].split(b"\x00", 1)[0].decode("utf-8", "replace")
        await send(writer, error(2, 1045, "28000",
                                 f"Access denied for user '{user}'@'%' (using password: YES)"))
