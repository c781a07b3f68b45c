"""A JVM's debug agent, imitating `-agentlib:jdwp=transport=dt_socket,server=y` (Java Debug
Wire Protocol specification: "JDWP Handshake", packet format, VirtualMachine command set).

The debugger must send the 14 bytes "JDWP-Handshake"; the VM sends them back. Anything
else makes the agent close the connection. Command packets (length, id, flags, command
set, command) are then answered with reply packets (flags 0x80, error code): VirtualMachine
Version (1/1) and IDSizes (1/7) with data, every other command with error 99
(NOT_IMPLEMENTED: this VM runs no program to debug).
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

HANDSHAKE = b"JDWP-Handshake"
HEADER = struct.Struct(">IIBBB")  # length, id, flags, command set, command
REPLY_FLAG = 0x80
VIRTUAL_MACHINE, VERSION, ID_SIZES = 1, 1, 7
NOT_IMPLEMENTED = 99


def jdwp_string(text: str) -> bytes:
    return struct.pack(">I", len(text)) + text.encode()


class JdwpService(Service):
    label = "jdwp"

    async def serve(self, reader, writer):
        if await read_exactly(reader, len(HANDSHAKE)) != HANDSHAKE:
            return
        await send(writer, HANDSHAKE)
        while header := await read_exactly_or_eof(reader, HEADER.size):
            length, packet_id, _, command_set, command = HEADER.unpack(header)
            if not HEADER.size <= length <= 1 << 20:
                raise ProtocolError("bad JDWP packet length")
            await read_exactly(reader, length - HEADER.size)
            error, data = 0, b""
            if (command_set, command) == (VIRTUAL_MACHINE, VERSION):
                data = (jdwp_string("Java Debug Wire Protocol (Reference Implementation) version 17.0")
                        + struct.pack(">II", 17, 0) + jdwp_string("17.0.10")
                        + jdwp_string("OpenJDK 64-Bit Server VM"))
            elif (command_set, command) == (VIRTUAL_MACHINE, ID_SIZES):
                data = struct.pack(">iiiii", 8, 8, 8, 8, 8)
            else:
                error = NOT_IMPLEMENTED
            await send(writer, struct.pack(">IIBH", 11 + len(data), packet_id, REPLY_FLAG, error) + data)
