"""Reading HTTP-style requests and writing responses (RFC 9112 message syntax).

Shared by the services whose protocol uses HTTP's message format: HTTP itself, IPP (RFC 8010
carries IPP in HTTP POST bodies), RTSP (RFC 2326 borrows HTTP/1.1's syntax) and the HTTPS
servers behind the tls and kubernetes services.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email.utils import formatdate

from lzr_sim.services.base import ProtocolError, read_exactly, read_line

MAX_HEADER_LINES = 100
MAX_BODY = 1 << 20


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)  # names lowercased
    body: bytes = b""


class BadRequest(ProtocolError):
    """The bytes are not an HTTP-style request; servers answer 400 and close."""


async def read_request(reader: asyncio.StreamReader, versions: tuple[str, ...]) -> Request | None:
    """The next request, or None at a clean EOF before any byte of it.

    `versions` are the protocol prefixes the server accepts in the request line ("HTTP/",
    "RTSP/"); anything else raises BadRequest.
    """
    line = await read_line(reader)
    while line in (b"\r\n", b"\n"):  # RFC 9112 §2.2: ignore empty lines before a request
        line = await read_line(reader)
    if not line:
        return None
    try:
        method, target, version = line.decode("ascii").split()
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("malformed request line") from None
    if not version.startswith(versions) or not method.isalpha():
        raise BadRequest(f"unsupported request line {line!r}")
    request = Request(method, target, version)
    for _ in range(MAX_HEADER_LINES):
        header = await read_line(reader)
        if header in (b"\r\n", b"\n", b""):
            break
        name, sep, value = header.decode("latin-1").partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise BadRequest("malformed header line")
        request.headers[name.lower()] = value.strip()
    else:
        raise BadRequest("too many header lines")
    length_text = request.headers.get("content-length", "0")
    if not length_text.isdigit() or int(length_text) > MAX_BODY:
        raise BadRequest("bad Content-Length")
    request.body = await read_exactly(reader, int(length_text))
    return request


def response(version: str, status: int, reason: str, headers: list[tuple[str, str]],
             body: bytes = b"") -> bytes:
    """A complete response message with Content-Length set from `body`."""
    lines = [f"{version} {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http_date() -> str:
    return formatdate(usegmt=True)
