"""IEC 60870-5-104 controlled station (an RTU or substation gateway), imitating its
link-level behaviour (IEC 60870-5-104 §5: APCI, U-, S- and I-format control fields).

Every APDU starts with 0x68 and its length (4-253), then a 4-byte control field. U-format
functions are confirmed: STARTDT act (0x07) with STARTDT con (0x0B), STOPDT act with STOPDT
con, TESTFR act with TESTFR con. While data transfer is started, each I-format APDU (an
ASDU from the controlling station) is acknowledged with an S-format APDU carrying the
receive sequence number; before STARTDT, I-format APDUs are ignored, as the standard
requires. Bytes that do not start an APDU close the connection.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

START = 0x68
STARTDT_ACT, STARTDT_CON = 0x07, 0x0B
STOPDT_ACT, STOPDT_CON = 0x13, 0x23
TESTFR_ACT, TESTFR_CON = 0x43, 0x83
CONFIRMATIONS = {STARTDT_ACT: STARTDT_CON, STOPDT_ACT: STOPDT_CON, TESTFR_ACT: TESTFR_CON}


def apdu(control: bytes, asdu: bytes = b"") -> bytes:
    return bytes([START, len(control) + len(asdu)]) + control + asdu


class Iec104Service(Service):
    label = "iec104"

    async def serve(self, reader, writer):
        started, received = False, 0
        while header := await read_exactly_or_eof(reader, 2):
            if header[0] != START or not 4 <= header[1] <= 253:
                raise ProtocolError("not an IEC 104 APDU")
            body = await read_exactly(reader, header[1])
            control = body[:4]
            if control[0] & 0x03 == 0x03:  # U format
                confirmation = CONFIRMATIONS.get(control[0])
                if confirmation is None:
                    raise ProtocolError("unknown U-format function")
                if control[0] in (STARTDT_ACT, STOPDT_ACT):
                    started = control[0] == STARTDT_ACT
                await send(writer, apdu(bytes([confirmation, 0, 0, 0])))
            elif control[0] & 0x01 == 0 and started:  # I format: acknowledge with S format
                received = (received + 1) % 32768
                await send(writer, apdu(b"\x01\x00" + struct.pack("<H", received << 1)))
