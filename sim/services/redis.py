"""Redis server, imitating redis-server 7 without authentication (RESP2 as specified at
redis.io/docs/reference/protocol-spec).

Reads commands both as RESP arrays of bulk strings and as inline commands (space-separated
lines). PING answers +PONG (or echoes its argument), ECHO, INFO (server section), COMMAND
COUNT, SET/GET on a small in-memory dict, QUIT; any other command gets Redis's
"-ERR unknown command". A malformed RESP frame gets "-ERR Protocol error" and the
connection closes. Like Redis since 3.2.7, a line starting with "POST" or "Host:" is taken
as a cross-protocol attack from a browser and the connection is closed without an answer.
"""
from __future__ import annotations

import os

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_line, send

MAX_BULK = 512 * 1024 * 1024


def bulk(value: bytes | None) -> bytes:
    return b"$-1\r\n" if value is None else b"$%d\r\n%s\r\n" % (len(value), value)


async def read_command(reader) -> list[bytes] | None:
    """The next command's words, or None when the client closed."""
    line = await read_line(reader, limit=64 * 1024)
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.split()
    try:
        count = int(line[1:])
    except ValueError:
        raise ProtocolError("invalid multibulk length") from None
    words = []
    for _ in range(count):
        header = await read_line(reader)
        if not header.startswith(b"$"):
            raise ProtocolError("expected '$'")
        try:
            size = int(header[1:])
        except ValueError:
            raise ProtocolError("invalid bulk length") from None
        if not 0 <= size <= MAX_BULK:
            raise ProtocolError("invalid bulk length")
        words.append((await read_exactly(reader, size + 2))[:size])
    return words


class RedisService(Service):
    label = "redis"

    def __init__(self, **options):
        super().__init__(**options)
        self.data: dict[bytes, bytes] = {}

    def execute(self, words: list[bytes]) -> bytes:
        name, args = words[0].lower(), words[1:]
        if name == b"ping":
            return b"+PONG\r\n" if not args else bulk(args[0])
        if name == b"echo" and len(args) == 1:
            return bulk(args[0])
        if name == b"info":
            text = (f"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nos:Linux\r\n"
                    f"process_id:{os.getpid()}\r\ntcp_port:6379\r\n").encode()
            return bulk(text)
        if name == b"command" and [a.lower() for a in args] == [b"count"]:
            return b":240\r\n"
        if name == b"set" and len(args) >= 2:
            self.data[args[0]] = args[1]
            return b"+OK\r\n"
        if name == b"get" and len(args) == 1:
            return bulk(self.data.get(args[0]))
        if name in (b"echo", b"get", b"set"):
            return b"-ERR wrong number of arguments for '%s' command\r\n" % name
        shown = b" ".join(b"'%s'" % arg[:128] for arg in args[:8])
        return b"-ERR unknown command '%s', with args beginning with: %s\r\n" % (words[0][:128], shown)

    async def serve(self, reader, writer):
        while True:
            try:
                words = await read_command(reader)
            except ProtocolError as error:
                await send(writer, b"-ERR Protocol error: " + str(error).encode() + b"\r\n")
                return
            if words is None:
                return
            if not words:
                continue
            if words[0].lower() in (b"post", b"host:"):
                return
            if words[0].lower() == b"quit":
                await send(writer, b"+OK\r\n")
                return
            await send(writer, self.execute(words))
