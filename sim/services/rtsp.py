"""RTSP server, imitating an IP camera's live555-based server (RFC 2326 §6-§10).

Requests use HTTP/1.1's syntax with the version "RTSP/1.0". OPTIONS answers 200 with the
Public methods; DESCRIBE answers 401 (cameras protect their streams); other methods 405.
Every response echoes the request's CSeq; a request without one gets 400, as the RFC makes
CSeq mandatory. A request line with another protocol version (an HTTP GET) gets
"RTSP/1.0 400 Bad Request" and the connection is closed, as live555 does.

Options: `server` (default "LIVE555 Streaming Media v2020.08.19").
"""
from __future__ import annotations

from lzr_sim.services.base import Service, send
from lzr_sim.services.httpmsg import BadRequest, http_date, read_request, response

PUBLIC = "OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER"


class RtspService(Service):
    label = "rtsp"

    async def serve(self, reader, writer):
        server = self.options.get("server", "LIVE555 Streaming Media v2020.08.19")
        while True:
            try:
                request = await read_request(reader, ("RTSP/1.0",))
            except BadRequest:
                await send(writer, response("RTSP/1.0", 400, "Bad Request",
                                            [("Date", http_date()), ("Allow", PUBLIC)]))
                return
            if request is None:
                return
            headers = [("Date", http_date()), ("Server", server)]
            if "cseq" not in request.headers:
                await send(writer, response("RTSP/1.0", 400, "Bad Request", headers))
                continue
            headers.insert(0, ("CSeq", request.headers["cseq"]))
            if request.method == "OPTIONS":
                message = response("RTSP/1.0", 200, "OK", headers + [("Public", PUBLIC)])
            elif request.method == "DESCRIBE":
                message = response("RTSP/1.0", 401, "Unauthorized", headers + [
                    ("WWW-Authenticate", 'Digest realm="LIVE555 Streaming Media", nonce="a5c1b1b0f0e3d2c1"')])
            else:
                message = response("RTSP/1.0", 405, "Method Not Allowed", headers + [("Allow", PUBLIC)])
            await send(writer, message)
