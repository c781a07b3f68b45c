"""Apache ZooKeeper's client port, imitating ZooKeeper 3.8 (Administrator's Guide, "The
Four Letter Words" and 4lw.commands.whitelist; the client's ConnectRequest/ConnectResponse
jute records).

The first four bytes decide. A known four-letter word is a command: whitelisted ones are
answered (srvr: version, latency, counts, mode; ruok: imok); the others, and the words this
simulator does not implement, get "<word> is not executed because it is not in the
whitelist."; either way the server then closes.
Otherwise the four bytes are the length of a client's ConnectRequest, which is answered
with a ConnectResponse (protocol version, negotiated timeout, session id, password); a
length beyond jute.maxbuffer closes the connection.

Options: `whitelist` (default ["srvr"], ZooKeeper's default since 3.5.3).
"""
from __future__ import annotations

import itertools
import os
import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, send

FOUR_LETTER_WORDS = {b"conf", b"cons", b"crst", b"dump", b"envi", b"ruok", b"srst", b"srvr", b"stat",
                     b"wchs", b"wchc", b"wchp", b"mntr", b"isro", b"hash", b"dirs"}
JUTE_MAX_BUFFER = 0xFFFFF
MIN_SESSION_TIMEOUT, MAX_SESSION_TIMEOUT = 4000, 40000
_session_ids = itertools.count(0x10000A5C3E40000)
# The words this simulator implements; other known words behave as not whitelisted.
ANSWERS = {
    b"ruok": b"imok",
    b"srvr": (b"Zookeeper version: 3.8.3-6ad6d364c7c0bcf0de452d54ebefa3058098ab56, "
              b"built on 2023-10-05 10:34 UTC\n"
              b"Latency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\n"
              b"Zxid: 0x0\nMode: standalone\nNode count: 5\n"),
}


class ZookeeperService(Service):
    label = "zookeeper"

    def command(self, word: bytes) -> bytes:
        whitelist = {name.encode() for name in self.options.get("whitelist", ["srvr"])}
        if word in whitelist and word in ANSWERS:
            return ANSWERS[word]
        return word + b" is not executed because it is not in the whitelist.\n"

    async def serve(self, reader, writer):
        first = await read_exactly(reader, 4)
        if first in FOUR_LETTER_WORDS:
            await send(writer, self.command(first))
            return
        length, = struct.unpack(">i", first)
        if not 20 <= length <= JUTE_MAX_BUFFER:
            raise ProtocolError("Len error")
        request = await read_exactly(reader, length)
        _, _, timeout = struct.unpack_from(">iqi", request)
        negotiated = min(max(timeout, MIN_SESSION_TIMEOUT), MAX_SESSION_TIMEOUT)
        body = struct.pack(">iiqi", 0, negotiated, next(_session_ids), 16) + os.urandom(16)
        await send(writer, struct.pack(">i", len(body)) + body)
        while await reader.read(65536):  # requests are not served by this simulator
            pass
