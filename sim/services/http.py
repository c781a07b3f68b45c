"""HTTP/1.1 origin server, imitating nginx's default site (RFC 9110, RFC 9112).

GET and HEAD of any path answer 200 with a small HTML page; other methods answer 405.
Bytes that are not an HTTP request (a TLS ClientHello, a binary probe) get nginx's
"400 Bad Request" page and the connection is closed, as nginx does. Persistent connections
are kept until the client closes or sends `Connection: close`.

Options: `server` (Server header, default "nginx/1.22.1"), `title` (page title).
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from lzr_sim.services.base import Service, send
from lzr_sim.services.httpmsg import BadRequest, Request, http_date, read_request, response

Handler = Callable[[Request], Awaitable[bytes]]


def html_page(status_line: str) -> bytes:
    return (f"<html>\r\n<head><title>{status_line}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status_line}</h1></center>\r\n</body>\r\n</html>\r\n").encode()


async def serve_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handle: Handler,
                     server: str) -> None:
    """Answer requests with `handle` until the client closes or breaks the syntax."""
    while True:
        try:
            request = await read_request(reader, ("HTTP/1.",))
        except BadRequest:
            body = html_page("400 Bad Request") + f"<hr><center>{server}</center>\r\n".encode()
            await send(writer, response("HTTP/1.1", 400, "Bad Request", [
                ("Server", server), ("Date", http_date()), ("Content-Type", "text/html"),
                ("Connection", "close")], body))
            return
        if request is None:
            return
        await send(writer, await handle(request))
        if request.headers.get("connection", "").lower() == "close" or request.version == "HTTP/1.0":
            return


class HttpService(Service):
    label = "http"

    def __init__(self, **options):
        super().__init__(**options)
        self.server = options.get("server", "nginx/1.22.1")
        self.title = options.get("title", "Welcome to nginx!")

    async def handle(self, request: Request) -> bytes:
        headers = [("Server", self.server), ("Date", http_date()), ("Content-Type", "text/html")]
        if request.method not in ("GET", "HEAD"):
            return response("HTTP/1.1", 405, "Not Allowed", headers, html_page("405 Not Allowed"))
        body = (f"<!DOCTYPE html>\n<html>\n<head>\n<title>{self.title}</title>\n</head>\n"
                f"<body>\n<h1>{self.title}</h1>\n<p>Path {request.target}</p>\n</body>\n</html>\n").encode()
        message = response("HTTP/1.1", 200, "OK", headers, body)
        if request.method == "HEAD":
            return message[: message.index(b"\r\n\r\n") + 4]
        return message

    async def serve(self, reader, writer):
        await serve_http(reader, writer, self.handle, self.server)
