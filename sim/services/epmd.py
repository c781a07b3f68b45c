"""Erlang port mapper daemon, imitating `epmd` of Erlang/OTP 25 (Erlang/OTP documentation,
"Distribution Protocol", section "EPMD Protocol").

Every request is a 2-byte length and a request byte. NAMES_REQ (`n`) is answered with
EPMD's own port as 4 bytes and a "name <node> at port <port>" line per registered node,
then the connection is closed; PORT_PLEASE2_REQ (`z`) with PORT2_RESP (`w`), result 0 and
the node's port, type, protocol, versions and name, or result 1 for an unknown node. Other
requests (registrations, kill, stop) are refused by closing the connection, as epmd does
for a client it does not trust.

Options: `nodes` (node name -> distribution port, default {"rabbit": 25672}, as a RabbitMQ
host registers).
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, send

NAMES_REQ, PORT_PLEASE2_REQ, PORT2_RESP = ord("n"), ord("z"), ord("w")
NODE_TYPE_NORMAL, PROTOCOL_TCP_IPV4, HIGHEST_VERSION, LOWEST_VERSION = 77, 0, 6, 5


class EpmdService(Service):
    label = "epmd"

    async def serve(self, reader, writer):
        nodes: dict[str, int] = self.options.get("nodes", {"rabbit": 25672})
        length, = struct.unpack(">H", await read_exactly(reader, 2))
        if not 1 <= length <= 512:
            raise ProtocolError("bad EPMD request length")
        request = await read_exactly(reader, length)
        if request[0] == NAMES_REQ:
            own_port = writer.get_extra_info("sockname")[1]
            listing = "".join(f"name {name} at port {port}\n" for name, port in nodes.items())
            await send(writer, struct.pack(">I", own_port) + listing.encode())
        elif request[0] == PORT_PLEASE2_REQ:
            name = request[1:].decode("utf-8", "replace")
            if name not in nodes:
                await send(writer, bytes([PORT2_RESP, 1]))
                return
            encoded = name.encode()
            await send(writer, bytes([PORT2_RESP, 0]) + struct.pack(
                ">HBBHHH", nodes[name], NODE_TYPE_NORMAL, PROTOCOL_TCP_IPV4, HIGHEST_VERSION, LOWEST_VERSION,
                len(encoded)) + encoded + struct.pack(">H", 0))
