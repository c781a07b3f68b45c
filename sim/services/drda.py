"""DRDA application server, imitating IBM Db2 for Linux answering a client's first command
(Open Group DRDA Vol. 1 §4.4 DSS format; Vol. 3 DDM: EXCSAT 0x1041, EXCSATRD 0x1443,
CMDNSPRM 0x1250, SYNTAXRM 0x124C).

Messages are DSS: length, magic 0xD0, format (low nibble 1 = request), correlation id, then
one DDM object (length, code point, parameters). EXCSAT is answered with EXCSATRD in a reply
DSS with the same correlation id: external name, server class "QDB2/LINUXX8664", the
manager levels the client asked for (capped at what Db2 supports), release level and
server name. Any other command gets CMDNSPRM (command not supported, severity 8) naming
its code point; a DSS whose DDM object does not fit gets SYNTAXRM. Bytes that are not a DSS
close the connection.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

DSS_MAGIC, REQUEST, REPLY = 0xD0, 0x01, 0x02
EXCSAT, EXCSATRD, CMDNSPRM, SYNTAXRM = 0x1041, 0x1443, 0x1250, 0x124C
EXTNAM, MGRLVLLS, SRVCLSNM, SRVRLSLV, SRVNAM, SVRCOD, CODPNT, SYNERRCD = (
    0x115E, 0x1404, 0x1147, 0x115A, 0x116D, 0x1149, 0x000C, 0x114A)
SEVERITY_ERROR = 8
SUPPORTED_LEVELS = {0x1403: 10, 0x2407: 11, 0x240F: 10, 0x1440: 10, 0x1474: 5, 0x1C08: 1208}


def ddm(codepoint: int, payload: bytes) -> bytes:
    return struct.pack(">HH", len(payload) + 4, codepoint) + payload


def ebcdic(text: str) -> bytes:
    return text.encode("cp037")


def reply_dss(correlation: int, objects: bytes) -> bytes:
    return struct.pack(">HBBH", len(objects) + 6, DSS_MAGIC, REPLY, correlation) + objects


def parameters(payload: bytes) -> dict[int, bytes]:
    found, offset = {}, 0
    while offset + 4 <= len(payload):
        length, codepoint = struct.unpack_from(">HH", payload, offset)
        if length < 4:
            break
        found[codepoint] = payload[offset + 4: offset + length]
        offset += length
    return found


class DrdaService(Service):
    label = "drda"

    def exchange_attributes(self, payload: bytes) -> bytes:
        asked = parameters(payload).get(MGRLVLLS, b"")
        levels = b"".join(struct.pack(">HH", manager, min(level, SUPPORTED_LEVELS[manager]))
                          for manager, level in struct.iter_unpack(">HH", asked[:len(asked) // 4 * 4])
                          if manager in SUPPORTED_LEVELS)
        return ddm(EXCSATRD, ddm(EXTNAM, ebcdic("db2sysc 0010C1E0")) + ddm(MGRLVLLS, levels)
                   + ddm(SRVCLSNM, ebcdic("QDB2/LINUXX8664")) + ddm(SRVNAM, ebcdic("db2inst1"))
                   + ddm(SRVRLSLV, ebcdic("SQL11058")))

    async def serve(self, reader, writer):
        while header := await read_exactly_or_eof(reader, 6):
            length, magic, dss_format, correlation = struct.unpack(">HBBH", header)
            if magic != DSS_MAGIC or dss_format & 0x0F != REQUEST or not 10 <= length <= 32767:
                raise ProtocolError("not a DRDA request DSS")
            body = await read_exactly(reader, length - 6)
            object_length, codepoint = struct.unpack_from(">HH", body)
            if object_length != len(body):
                reply = ddm(SYNTAXRM, ddm(SVRCOD, struct.pack(">H", SEVERITY_ERROR))
                            + ddm(SYNERRCD, b"\x02") + ddm(CODPNT, struct.pack(">H", codepoint)))
            elif codepoint == EXCSAT:
                reply = self.exchange_attributes(body[4:])
            else:
                reply = ddm(CMDNSPRM, ddm(SVRCOD, struct.pack(">H", SEVERITY_ERROR))
                            + ddm(CODPNT, struct.pack(">H", codepoint)))
            await send(writer, reply_dss(correlation, reply))
