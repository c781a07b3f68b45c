"""SOCKS proxy, imitating Dante with a restrictive rule set (RFC 1928 SOCKS5: §3 method
negotiation, §4 requests, §6 replies; RFC 1929 username/password; SOCKS4 for version 4).

The client's greeting lists authentication methods. With option `auth` "none" (default) the
proxy picks 0x00 if offered; with "password" it picks 0x02 and then rejects every
username/password (status 1). If no offered method is acceptable it answers 0xFF and
closes. A CONNECT/BIND/UDP ASSOCIATE request is then refused with reply 0x02 "connection
not allowed by ruleset": the simulator never opens connections on a client's behalf. A
SOCKS4 request gets 0x5B (rejected). Any other first byte closes the connection.

Options: `auth` ("none", default, or "password").
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, send

NO_AUTH, USERNAME_PASSWORD, NO_ACCEPTABLE = 0x00, 0x02, 0xFF
NOT_ALLOWED_BY_RULESET = 0x02
ADDRESS_LENGTHS = {0x01: 4, 0x04: 16}  # IPv4, IPv6; 0x03 (domain) carries its own length
SOCKS4_REJECTED = 0x5B


class Socks5Service(Service):
    label = "socks5"

    async def serve(self, reader, writer):
        version = await reader.read(1)
        if version == b"\x04":
            await read_exactly(reader, 7)  # command, port, address; the user id follows
            await send(writer, bytes([0, SOCKS4_REJECTED]) + bytes(6))
            return
        if version != b"\x05":
            return
        count = (await read_exactly(reader, 1))[0]
        methods = await read_exactly(reader, count)
        wanted = USERNAME_PASSWORD if self.options.get("auth", "none") == "password" else NO_AUTH
        if wanted not in methods:
            await send(writer, bytes([5, NO_ACCEPTABLE]))
            return
        await send(writer, bytes([5, wanted]))
        if wanted == USERNAME_PASSWORD:
            if (await read_exactly(reader, 1)) != b"\x01":
                raise ProtocolError("bad subnegotiation version")
            await read_exactly(reader, (await read_exactly(reader, 1))[0])  # user name
            await read_exactly(reader, (await read_exactly(reader, 1))[0])  # password
            await send(writer, b"\x01\x01")
            return
        header = await read_exactly(reader, 4)
        if header[0] != 5:
            raise ProtocolError("bad request version")
        address_type = header[3]
        if address_type == 0x03:
            await read_exactly(reader, (await read_exactly(reader, 1))[0] + 2)
        elif address_type in ADDRESS_LENGTHS:
            await read_exactly(reader, ADDRESS_LENGTHS[address_type] + 2)
        else:
            raise ProtocolError("unknown address type")
        await send(writer, bytes([5, NOT_ALLOWED_BY_RULESET, 0, 1]) + bytes(4) + struct.pack(">H", 0))
