"""EtherNet/IP adapter's encapsulation layer, imitating a Rockwell/Allen-Bradley PLC
(CIP Networks Library Vol. 2, EtherNet/IP adaptation, §2-3 encapsulation header, §2-4
commands: ListServices 0x0004, ListIdentity 0x0063, RegisterSession 0x0065,
UnRegisterSession 0x0066).

Every request has a 24-byte little-endian header (command, length, session handle, status,
sender context, options) and the reply echoes command and sender context. ListIdentity
returns one CIP Identity item (vendor, device type, product code, revision, serial,
product name, state); ListServices the communications service item; RegisterSession a new
session handle. Other commands get status 0x0001 (invalid or unsupported command). A
request whose length is impossible closes the connection.

Options: `product_name` (default "1756-L61/B LOGIX5561"), `serial` (default 0x0040A3D2).
"""
from __future__ import annotations

import ipaddress
import itertools
import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

HEADER = struct.Struct("<HHII8sI")
LIST_SERVICES, LIST_IDENTITY, REGISTER_SESSION, UNREGISTER_SESSION = 0x0004, 0x0063, 0x0065, 0x0066
STATUS_INVALID_COMMAND = 0x0001
ENIP_PORT = 44818
VENDOR_ROCKWELL, DEVICE_PLC, PRODUCT_CODE = 1, 14, 54
_sessions = itertools.count(0x1A2B0001)


class EnipService(Service):
    label = "enip"

    def identity(self, address: str) -> bytes:
        name = self.options.get("product_name", "1756-L61/B LOGIX5561").encode()
        packed = ipaddress.IPv4Address(address).packed if ":" not in address else bytes(4)
        socket_address = struct.pack(">hH4s8s", 2, ENIP_PORT, packed, bytes(8))  # sockaddr_in, big-endian
        item = (struct.pack("<H", 1) + socket_address
                + struct.pack("<HHHBBHI", VENDOR_ROCKWELL, DEVICE_PLC, PRODUCT_CODE, 20, 11, 0x0060,
                              int(self.options.get("serial", 0x0040A3D2)))
                + bytes([len(name)]) + name + bytes([3]))
        return struct.pack("<HHH", 1, 0x000C, len(item)) + item

    async def serve(self, reader, writer):
        while header := await read_exactly_or_eof(reader, HEADER.size):
            command, length, session, _, context, _ = HEADER.unpack(header)
            if length > 65511:
                raise ProtocolError("impossible encapsulation length")
            data = await read_exactly(reader, length)
            status, reply = 0, b""
            if command == LIST_IDENTITY:
                reply = self.identity(writer.get_extra_info("sockname")[0])
            elif command == LIST_SERVICES:
                reply = struct.pack("<HHHHH16s", 1, 0x0100, 20, 1, 0x0120, b"Communications\x00\x00")
            elif command == REGISTER_SESSION and len(data) == 4:
                session, reply = next(_sessions), data
            elif command == UNREGISTER_SESSION:
                return
            else:
                status = STATUS_INVALID_COMMAND
            await send(writer, HEADER.pack(command, len(reply), session, status, context, 0) + reply)
