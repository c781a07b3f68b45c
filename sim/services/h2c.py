"""HTTP/2 over cleartext with prior knowledge, imitating an h2c-only server such as a gRPC
or nghttpx backend (RFC 9113 §3.4 preface, §4.1 frame format, §6.5 SETTINGS, §6.7 PING,
§6.8 GOAWAY; RFC 7541 Appendix A static table).

The client must open with the connection preface "PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" and a
SETTINGS frame. The server answers with its own SETTINGS (max concurrent streams,
initial window size, max frame size) and acknowledges the client's. PING is answered with
PING ACK; a HEADERS frame opening a stream gets a response HEADERS frame ":status 404"
(static table index 13) ending the stream; GOAWAY ends the connection. A connection that
does not start with the preface gets GOAWAY with PROTOCOL_ERROR, as §3.4 requires.
"""
from __future__ import annotations

import struct

from lzr_sim.services.base import Service, read_exactly, read_exactly_or_eof, send

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, SETTINGS, PING, GOAWAY = 0x1, 0x4, 0x6, 0x7
FLAG_ACK, FLAG_END_STREAM, FLAG_END_HEADERS = 0x1, 0x1, 0x4
NO_ERROR, PROTOCOL_ERROR, FRAME_SIZE_ERROR = 0x0, 0x1, 0x6
MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE = 0x3, 0x4, 0x5
DEFAULT_MAX_FRAME = 16384
STATUS_404 = 0x80 | 13  # indexed header field: static table entry 13 is ":status: 404"


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def goaway(last_stream: int, error: int, debug: bytes = b"") -> bytes:
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream, error) + debug)


class H2cService(Service):
    label = "h2c"

    async def serve(self, reader, writer):
        preface = await reader.read(len(PREFACE))
        while preface and len(preface) < len(PREFACE) and PREFACE.startswith(preface):
            more = await reader.read(len(PREFACE) - len(preface))
            if not more:
                break
            preface += more
        if preface != PREFACE:
            if preface:
                await send(writer, goaway(0, PROTOCOL_ERROR, b"invalid connection preface"))
            return
        settings = struct.pack(">HIHIHI", MAX_CONCURRENT_STREAMS, 100, INITIAL_WINDOW_SIZE, 65535,
                               MAX_FRAME_SIZE, DEFAULT_MAX_FRAME)
        await send(writer, frame(SETTINGS, 0, 0, settings))
        last_stream = 0
        while header := await read_exactly_or_eof(reader, 9):
            length, kind, flags = int.from_bytes(header[:3], "big"), header[3], header[4]
            stream = struct.unpack_from(">I", header, 5)[0] & 0x7FFFFFFF
            if length > DEFAULT_MAX_FRAME:
                await send(writer, goaway(last_stream, FRAME_SIZE_ERROR))
                return
            payload = await read_exactly(reader, length)
            if kind == SETTINGS and not flags & FLAG_ACK:
                if length % 6:
                    await send(writer, goaway(last_stream, FRAME_SIZE_ERROR))
                    return
                await send(writer, frame(SETTINGS, FLAG_ACK, 0))
            elif kind == PING and not flags & FLAG_ACK:
                await send(writer, frame(PING, FLAG_ACK, 0, payload))
            elif kind == HEADERS and stream % 2 == 1 and stream > last_stream:
                last_stream = stream
                flags = FLAG_END_HEADERS | FLAG_END_STREAM
                await send(writer, frame(HEADERS, flags, stream, bytes([STATUS_404])))
            elif kind == HEADERS:
                await send(writer, goaway(last_stream, PROTOCOL_ERROR))
                return
            elif kind == GOAWAY:
                await send(writer, goaway(last_stream, NO_ERROR))
                return
            # Other frames (DATA, WINDOW_UPDATE, unknown types, §4.1) need no answer here.
