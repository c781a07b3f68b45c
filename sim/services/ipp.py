"""IPP printer, imitating CUPS (RFC 8010 encoding over HTTP POST, RFC 8011 operations).

POST with Content-Type application/ipp carries an IPP request; the response is HTTP
"200 OK" with an application/ipp body whose status code says how the operation went (IPP
reports its errors in the body). Every response starts with the operation attributes
attributes-charset and attributes-natural-language. Get-Printer-Attributes returns the
printer's name, state, make and model and supported operations; other operations get
server-error-operation-not-supported; a body too short to be an IPP request gets
client-error-bad-request. GET answers the CUPS web page; other HTTP methods get 405.

Options: `printer` (printer name, default "Office-Printer").
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import Service
from lzr_sim.services.http import html_page, serve_http
from lzr_sim.services.httpmsg import Request, http_date, response

TAG_OPERATION, TAG_PRINTER, TAG_END = 0x01, 0x04, 0x03
TAG_ENUM, TAG_TEXT, TAG_NAME, TAG_KEYWORD, TAG_URI, TAG_CHARSET, TAG_LANGUAGE = (
    0x23, 0x41, 0x42, 0x44, 0x45, 0x47, 0x48)
GET_PRINTER_ATTRIBUTES = 0x000B
OPERATIONS_SUPPORTED = (0x0002, 0x0004, 0x0005, 0x0008, 0x0009, 0x000A, 0x000B)
STATUS_OK, STATUS_BAD_REQUEST, STATUS_NOT_SUPPORTED = 0x0000, 0x0400, 0x0501
PRINTER_IDLE = 3
CUPS_PAGE = (b"<!DOCTYPE HTML>\n<html><head><title>Home - CUPS 2.4.2</title></head>\n"
             b"<body><h1>CUPS 2.4.2</h1>\n"
             b"<p>CUPS is the standards-based, open source printing system.</p></body></html>\n")


def attribute(tag: int, name: str, value: bytes) -> bytes:
    encoded = name.encode()
    return struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value


def additional_value(tag: int, value: bytes) -> bytes:
    """A further value of the previous attribute (RFC 8010 §3.1.5: empty name)."""
    return struct.pack(">BHH", tag, 0, len(value)) + value


class IppService(Service):
    label = "ipp"

    def ipp_response(self, body: bytes, host: str) -> bytes:
        operation_attributes = (bytes([TAG_OPERATION])
                                + attribute(TAG_CHARSET, "attributes-charset", b"utf-8")
                                + attribute(TAG_LANGUAGE, "attributes-natural-language", b"en"))
        if len(body) < 9:
            return struct.pack(">BBHI", 1, 1, STATUS_BAD_REQUEST, 0) + operation_attributes + bytes([TAG_END])
        major, minor, operation, request_id = struct.unpack_from(">BBHI", body)
        if operation != GET_PRINTER_ATTRIBUTES:
            return (struct.pack(">BBHI", major, minor, STATUS_NOT_SUPPORTED, request_id)
                    + operation_attributes + bytes([TAG_END]))
        name = self.options.get("printer", "Office-Printer")
        printer = (bytes([TAG_PRINTER])
                   + attribute(TAG_URI, "printer-uri-supported", f"ipp://{host}/printers/{name}".encode())
                   + attribute(TAG_NAME, "printer-name", name.encode())
                   + attribute(TAG_ENUM, "printer-state", struct.pack(">i", PRINTER_IDLE))
                   + attribute(TAG_KEYWORD, "printer-state-reasons", b"none")
                   + attribute(TAG_TEXT, "printer-make-and-model", b"Generic PostScript Printer")
                   + attribute(TAG_ENUM, "operations-supported", struct.pack(">i", OPERATIONS_SUPPORTED[0]))
                   + b"".join(additional_value(TAG_ENUM, struct.pack(">i", op))
                              for op in OPERATIONS_SUPPORTED[1:]))
        return (struct.pack(">BBHI", major, minor, STATUS_OK, request_id) + operation_attributes + printer
                + bytes([TAG_END]))

    async def handle(self, request: Request) -> bytes:
        headers = [("Date", http_date()), ("Server", "CUPS/2.4 IPP/2.1")]
        if request.method == "POST" and request.headers.get("content-type", "").startswith("application/ipp"):
            body = self.ipp_response(request.body, request.headers.get("host", "localhost"))
            return response("HTTP/1.1", 200, "OK", headers + [("Content-Type", "application/ipp")], body)
        if request.method == "GET":
            return response("HTTP/1.1", 200, "OK", headers + [("Content-Type", "text/html; charset=utf-8")],
                            CUPS_PAGE)
        return response("HTTP/1.1", 405, "Method Not Allowed", headers + [("Content-Type", "text/html")],
                        html_page("405 Method Not Allowed"))

    async def serve(self, reader, writer):
        await serve_http(reader, writer, self.handle, "CUPS/2.4 IPP/2.1")
