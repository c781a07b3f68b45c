"""memcached server, speaking both of its protocols as memcached does by default
(`-B auto`: the first byte of each request decides; 0x80 is the binary protocol's request
magic, anything else is the ASCII protocol).

ASCII (protocol.txt): "stats" lists STAT lines ending in END; get/set/delete/version/quit
work on an in-memory dict; an unknown command gets "ERROR". Binary (BinaryProtocolRevamped):
every request header (24 bytes) gets a response with magic 0x81 and the same opcode and
opaque; STAT (0x10) answers one packet per statistic and an empty one to end, VERSION and
NOOP are answered, and other opcodes get status 0x0081 "Unknown command".

The same class serves the labels memcached_ascii and memcached_binary: which label the
scanner gives depends on the probe it sent, as with a real memcached.
"""
from __future__ import annotations

import os
import struct
import time

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_line, send

VERSION = b"1.6.18"
BINARY_REQUEST, BINARY_RESPONSE = 0x80, 0x81
OPCODE_NOOP, OPCODE_VERSION, OPCODE_STAT = 0x0A, 0x0B, 0x10
STATUS_UNKNOWN_COMMAND = 0x0081
HEADER = struct.Struct(">BBHBBHIIQ")  # magic opcode keylen extlen datatype status/vbucket bodylen opaque cas


class MemcachedService(Service):
    label = "memcached_ascii"

    def __init__(self, **options):
        super().__init__(**options)
        self.started = time.time()
        self.items: dict[bytes, bytes] = {}

    def stats(self) -> list[tuple[bytes, bytes]]:
        now = time.time()
        return [(b"pid", b"%d" % os.getpid()), (b"uptime", b"%d" % (now - self.started)),
                (b"time", b"%d" % now), (b"version", VERSION), (b"curr_items", b"%d" % len(self.items)),
                (b"threads", b"4")]

    async def serve(self, reader, writer):
        while first := await reader.read(1):
            if first[0] == BINARY_REQUEST:
                await self.binary(first + await read_exactly(reader, HEADER.size - 1), reader, writer)
            elif not await self.ascii(first + await read_line(reader), reader, writer):
                return

    async def ascii(self, line: bytes, reader, writer) -> bool:
        """Answer one ASCII command line; False when the client asked to quit."""
        words = line.split()
        command = words[0] if words else b""
        if command == b"stats" and len(words) == 1:
            reply = b"".join(b"STAT %s %s\r\n" % pair for pair in self.stats()) + b"END\r\n"
        elif command == b"version":
            reply = b"VERSION " + VERSION + b"\r\n"
        elif command == b"get" and len(words) >= 2:
            reply = b"".join(b"VALUE %s 0 %d\r\n%s\r\n" % (key, len(self.items[key]), self.items[key])
                             for key in words[1:] if key in self.items) + b"END\r\n"
        elif command == b"set" and len(words) == 5 and words[4].isdigit():
            value = await read_exactly(reader, int(words[4]) + 2)
            self.items[words[1]] = value[:-2]
            reply = b"STORED\r\n"
        elif command == b"delete" and len(words) == 2:
            reply = b"DELETED\r\n" if self.items.pop(words[1], None) is not None else b"NOT_FOUND\r\n"
        elif command == b"quit":
            return False
        else:
            reply = b"ERROR\r\n"
        await send(writer, reply)
        return True

    async def binary(self, header: bytes, reader, writer) -> None:
        _, opcode, _, _, _, _, body_length, opaque, _ = HEADER.unpack(header)
        if body_length > 1 << 20:
            raise ProtocolError("binary body too large")
        await read_exactly(reader, body_length)

        def response(status: int = 0, key: bytes = b"", value: bytes = b"") -> bytes:
            return HEADER.pack(BINARY_RESPONSE, opcode, len(key), 0, 0, status, len(key) + len(value),
                               opaque, 0) + key + value

        if opcode == OPCODE_STAT:
            reply = b"".join(response(key=key, value=value) for key, value in self.stats()) + response()
        elif opcode == OPCODE_VERSION:
            reply = response(value=VERSION)
        elif opcode == OPCODE_NOOP:
            reply = response()
        else:
            reply = response(STATUS_UNKNOWN_COMMAND, value=b"Unknown command")
        await send(writer, reply)


class MemcachedBinaryService(MemcachedService):
    label = "memcached_binary"
