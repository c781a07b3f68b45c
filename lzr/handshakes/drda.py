"""DRDA EXCSAT (IBM Db2, Apache Derby, Informix).

An Exchange Server Attributes command, the first a DRDA client sends (Open Group DRDA
Vol. 3, DDM: EXCSAT 0x1041). It sits in a request DSS (Vol. 1: 6-byte header, length,
magic 0xd0, format 0x01 = request, correlation id 1) and carries EXTNAM `lzr` (EBCDIC) and
MGRLVLLS asking for AGENT, SQLAM, RDB and SECMGR at level 7. A server replies in a reply DSS
(format low nibble 2) with EXCSATRD (0x1443), or a reply message such as SYNTAXRM or
PRCCNVRM when it objects.
"""
import struct

from lzr.handshakes.base import Handshake, Needs, constant

DSS_MAGIC = 0xD0
REQUEST_DSS = 0x01
REPLY_DSS = 0x02
EXCSAT, EXTNAM, MGRLVLLS = 0x1041, 0x115E, 0x1404
MANAGERS = (0x1403, 0x2407, 0x240F, 0x1440)  # AGENT, SQLAM, RDB, SECMGR
# EXCSATRD, SYNTAXRM, PRCCNVRM, CMDNSPRM
REPLY_CODEPOINTS = frozenset((b"\x14\x43", b"\x12\x4c", b"\x12\x45", b"\x12\x50"))


def ddm(codepoint: int, payload: bytes) -> bytes:
    return struct.pack(">HH", len(payload) + 4, codepoint) + payload


def _excsat() -> bytes:
    managers = b"".join(struct.pack(">HH", manager, 7) for manager in MANAGERS)
    command = ddm(EXCSAT, ddm(EXTNAM, "lzr".encode("cp037")) + ddm(MGRLVLLS, managers))
    return struct.pack(">HBBH", len(command) + 6, DSS_MAGIC, REQUEST_DSS, 1) + command


PROBE = _excsat()

NEEDS = Needs(byte_in=bytes((DSS_MAGIC,)), at=2)


def match(data: bytes) -> str | None:
    if len(data) >= 10 and data[2] == DSS_MAGIC and data[3] & 0x0F == REPLY_DSS:
        if data[8:10] in REPLY_CODEPOINTS:
            return "drda"
    return None


HANDSHAKE = Handshake("drda", "DRDA EXCSAT (Db2, Derby)", False, constant(PROBE), match, NEEDS)
