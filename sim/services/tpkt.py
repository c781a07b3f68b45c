"""TPKT framing (RFC 1006 §6) and the X.224 connection TPDUs (ITU-T X.224 §13.3-13.4) that
both RDP ([MS-RDPBCGR] §2.2.1.1-2.2.1.2) and Siemens S7 (ISO-on-TCP) start with.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from lzr_sim.services.base import ProtocolError, read_exactly, read_exactly_or_eof

TPKT_VERSION = 3
CR_TPDU, CC_TPDU, DT_TPDU = 0xE0, 0xD0, 0xF0


async def read_tpkt(reader) -> bytes | None:
    """The payload of the next TPKT, or None at EOF; not a TPKT is a protocol error."""
    header = await read_exactly_or_eof(reader, 4)
    if not header:
        return None
    version, _, length = struct.unpack(">BBH", header)
    if version != TPKT_VERSION or length < 7:
        raise ProtocolError("not a TPKT")
    return await read_exactly(reader, length - 4)


def tpkt(payload: bytes) -> bytes:
    return struct.pack(">BBH", TPKT_VERSION, 0, len(payload) + 4) + payload


@dataclass
class ConnectionRequest:
    source_reference: int
    class_option: int
    variable_part: bytes  # parameters (S7) or cookie and negotiation request (RDP)


def parse_connection_request(payload: bytes) -> ConnectionRequest:
    """An X.224 CR TPDU: length indicator, CR code, dst-ref, src-ref, class, variable part."""
    if len(payload) < 7 or payload[1] & 0xF0 != CR_TPDU or payload[0] + 1 > len(payload):
        raise ProtocolError("not an X.224 connection request")
    _, _, _, source, class_option = struct.unpack_from(">BBHHB", payload)
    return ConnectionRequest(source, class_option, payload[7:payload[0] + 1])


async def read_connection_request(reader) -> ConnectionRequest | None:
    """The client's opening X.224 CR in its TPKT, or None if it closed without sending one."""
    payload = await read_tpkt(reader)
    return None if payload is None else parse_connection_request(payload)


def connection_confirm(request: ConnectionRequest, source_reference: int, variable_part: bytes) -> bytes:
    """An X.224 CC TPDU answering `request` (its source reference becomes our destination)."""
    fixed = struct.pack(">BHHB", CC_TPDU, request.source_reference, source_reference,
                        request.class_option & 0xF0)
    return bytes([len(fixed) + len(variable_part)]) + fixed + variable_part
