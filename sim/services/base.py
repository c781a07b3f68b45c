"""What every synthetic service is made of.

A service is one protocol server: `serve(reader, writer)` handles one accepted connection
the way the real daemon would. A peer that breaks the protocol ends its connection the way
the daemon ends it: the service answers an error if the daemon does, then raises
`ProtocolError` (or simply returns) and the connection is closed. Anything else that escapes
`serve` is a bug in the service; the runner logs it and keeps serving.
"""
from __future__ import annotations

import asyncio
import ssl
from typing import Any, ClassVar


class ProtocolError(Exception):
    """The peer broke the protocol; the real daemon closes the connection here."""


class Service:
    """Base of all services. Subclasses set `label` and implement `serve`.

    `label` is the fingerprint label the scanner gives this service's answer to its own
    probe. Options are keyword arguments from the runner's spec (each service documents
    the ones it reads); unknown options are ignored, so one spec format fits all services.
    """

    label: ClassVar[str]
    # The service runs TLS itself with the context from `ssl_context()`; the runner calls that
    # before it reports READY, so certificates are made before the first connection.
    uses_tls: ClassVar[bool] = False
    # The server sends data (a banner, an OPEN) as soon as the connection is up, before it
    # reads anything, so a scanner's `wait` handshake identifies it.
    speaks_first: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.options = options
        self._ssl_context: ssl.SSLContext | None = None

    def certificate(self) -> tuple[str, str] | None:
        """(certificate path, key path) of a service that runs TLS itself."""
        return None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context from `certificate()`, made once (making a certificate runs openssl)."""
        if self._ssl_context is None and (cert_and_key := self.certificate()) is not None:
            self._ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl_context.load_cert_chain(*cert_and_key)
        return self._ssl_context

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write `data` as one unit and wait until the transport took it."""
    writer.write(data)
    await writer.drain()


async def read_line(reader: asyncio.StreamReader, limit: int = 4096) -> bytes:
    """One line including its end (`\\n`), or what remains at EOF.

    A line longer than `limit` is a protocol error, as it is for the line-based daemons we
    imitate (they answer "line too long" or close).
    """
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = await reader.read(1)
        if not byte:
            break
        line += byte
        if len(line) > limit:
            raise ProtocolError("line too long")
    return bytes(line)


async def read_exactly(reader: asyncio.StreamReader, count: int) -> bytes:
    """`count` bytes; EOF before that is the peer going away (a normal end)."""
    try:
        return await reader.readexactly(count)
    except asyncio.IncompleteReadError:
        raise ProtocolError("connection closed mid-message") from None


async def read_exactly_or_eof(reader: asyncio.StreamReader, count: int) -> bytes:
    """The next `count` bytes (a message's fixed header, say), or b"" when the peer closed
    before sending any of them: the end of a session between two messages."""
    first = await reader.read(count)
    return first + await read_exactly(reader, count - len(first)) if first else b""
