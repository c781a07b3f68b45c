"""Modbus/TCP server, imitating a PLC or gateway (Modbus Application Protocol V1.1b3 §6,
Modbus Messaging on TCP/IP V1.0b §3.1 MBAP header).

Every request's MBAP transaction id is echoed. Function 0x2B/MEI 0x0E (Read Device
Identification) returns the basic objects VendorName, ProductCode and
MajorMinorRevision; 0x03 and 0x04 (read registers) return zeros; any other function gets
exception code 01 (illegal function). A request with a protocol id other than 0 or a
length that cannot be right is dropped with the connection, as Modbus/TCP servers do.

Options: `vendor` (default "Schneider Electric"), `product` (default "BMX P34 2020"),
`revision` (default "v2.8"), `unit` (unit id served, default: any).
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

MBAP = struct.Struct(">HHHB")  # transaction id, protocol id, length, unit id
READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS, ENCAPSULATED_INTERFACE = 0x03, 0x04, 0x2B
MEI_READ_DEVICE_ID = 0x0E
ILLEGAL_FUNCTION, ILLEGAL_DATA_VALUE = 0x01, 0x03
CONFORMITY_BASIC_STREAM = 0x81


class ModbusService(Service):
    label = "modbus"

    def device_identification(self, pdu: bytes) -> bytes:
        if len(pdu) < 4 or pdu[1] != MEI_READ_DEVICE_ID or pdu[2] not in (1, 2, 3, 4):
            return bytes([ENCAPSULATED_INTERFACE | 0x80, ILLEGAL_DATA_VALUE])
        objects = [self.options.get("vendor", "Schneider Electric"),
                   self.options.get("product", "BMX P34 2020"),
                   self.options.get("revision", "v2.8")]
        first = pdu[3] if pdu[3] < len(objects) else 0
        body = b"".join(bytes([object_id, len(value)]) + value.encode()
                        for object_id, value in enumerate(objects) if object_id >= first)
        return bytes([ENCAPSULATED_INTERFACE, MEI_READ_DEVICE_ID, pdu[2], CONFORMITY_BASIC_STREAM, 0, 0,
                      len(objects) - first]) + body

    def answer(self, pdu: bytes) -> bytes:
        function = pdu[0]
        if function == ENCAPSULATED_INTERFACE:
            return self.device_identification(pdu)
        if function in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS) and len(pdu) == 5:
            _, count = struct.unpack_from(">HH", pdu, 1)
            if not 1 <= count <= 125:
                return bytes([function | 0x80, ILLEGAL_DATA_VALUE])
            return bytes([function, 2 * count]) + bytes(2 * count)
        return bytes([function | 0x80, ILLEGAL_FUNCTION])

    async def serve(self, reader, writer):
        unit = self.options.get("unit")
        while header := await read_exactly_or_eof(reader, MBAP.size):
            transaction, protocol, length, unit_id = MBAP.unpack(header)
            if protocol != 0 or not 2 <= length <= 254:
                raise ProtocolError("not a Modbus/TCP request")
            pdu = await read_exactly(reader, length - 1)
            if unit is not None and unit_id != unit:
                continue  # a gateway ignores requests for units it does not serve
            reply = self.answer(pdu)
            await send(writer, MBAP.pack(transaction, 0, len(reply) + 1, unit_id) + reply)
