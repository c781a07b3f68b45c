"""TLS run by the service itself over an accepted connection (ssl.MemoryBIO), so that the
service sees the client's first bytes before any TLS happens.

That is how real HTTPS servers treat a plain-HTTP request sent to their TLS port: nginx
answers "400 The plain HTTP request was sent to HTTPS port", Go's crypto/tls (hence the
Kubernetes API server) "Client sent an HTTP request to an HTTPS server." Both say "HTTPS",
which LZR's tls rule looks for. Anything else is fed to OpenSSL, which does the handshake or
fails it exactly as an OpenSSL-based server would (including any alert it sends).
"""
from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Awaitable, Callable

from lzr_sim.services.base import ProtocolError

HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ",
                b"TRACE ", b"PRI ")
READ_SIZE = 65536


class TlsWriter:
    """The writing side of a TLS connection, with the StreamWriter methods services use."""

    def __init__(self, connection: "TlsConnection") -> None:
        self.connection = connection

    def write(self, data: bytes) -> None:
        self.connection.tls.write(data)

    async def drain(self) -> None:
        await self.connection.flush()

    def get_extra_info(self, name: str, default=None):
        return self.connection.raw_writer.get_extra_info(name, default)


class TlsConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 context: ssl.SSLContext) -> None:
        self.raw_reader, self.raw_writer = reader, writer
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.plain = asyncio.StreamReader()

    async def flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.raw_writer.write(data)
            await self.raw_writer.drain()

    async def handshake(self, first: bytes) -> None:
        self.incoming.write(first)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self.flush()
                data = await self.raw_reader.read(READ_SIZE)
                if not data:
                    raise ProtocolError("client left during the TLS handshake") from None
                self.incoming.write(data)
            except ssl.SSLError:
                await self.flush()  # OpenSSL's alert, if it made one
                raise ProtocolError("TLS handshake failed") from None
        await self.flush()

    async def pump(self) -> None:
        """Decrypt what arrives into `plain` until the client closes."""
        try:
            while data := await self.raw_reader.read(READ_SIZE):
                self.incoming.write(data)
                while True:
                    try:
                        plain = self.tls.read(READ_SIZE)
                    except ssl.SSLWantReadError:
                        break
                    if not plain:
                        # The session is over: OpenSSL returns b"" for ever after the client's
                        # close_notify or a truncated record (nmap sends both).
                        return
                    self.plain.feed_data(plain)
                await self.flush()
        except (ssl.SSLError, ConnectionError):
            pass
        finally:
            self.plain.feed_eof()


async def serve_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, context: ssl.SSLContext,
                    plain_http_answer: bytes,
                    serve: Callable[[asyncio.StreamReader, TlsWriter], Awaitable[None]]) -> None:
    """Run `serve` inside TLS; a plain-HTTP request gets `plain_http_answer` and is closed."""
    first = await reader.read(READ_SIZE)
    if not first:
        return
    if first.startswith(HTTP_METHODS):
        writer.write(plain_http_answer)
        await writer.drain()
        return
    connection = TlsConnection(reader, writer, context)
    await connection.handshake(first)
    pump = asyncio.create_task(connection.pump())
    try:
        await serve(connection.plain, TlsWriter(connection))
        with contextlib.suppress(ssl.SSLError):
            connection.tls.unwrap()  # close_notify, as a server ending the session sends
        await connection.flush()
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
