"""MongoDB server's wire protocol, imitating mongod 4.x/5.x answering handshakes
(MongoDB Wire Protocol: OP_QUERY/OP_REPLY and OP_MSG; BSON spec bsonspec.org).

A command sent as OP_QUERY on "<db>.$cmd" is answered with OP_REPLY; one sent as OP_MSG is
answered with OP_MSG. isMaster/ismaster/hello return the handshake document (with
maxBsonObjectSize and the wire versions), ping and buildInfo are answered, other commands
get {ok: 0, errmsg: "no such command", code: 59}. A message whose header is not sane
(length out of range, unknown opcode) makes mongod close the connection; so does this.
"""
from __future__ import annotations

import itertools
import struct
import time

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
MAX_MESSAGE = 48_000_000
HEADER = struct.Struct("<iiii")  # messageLength requestID responseTo opCode
_request_ids = itertools.count(1)


def encode_document(document: dict) -> bytes:
    """BSON for the value types the replies use: str, bool, int, float, dict, list."""
    body = b""
    for key, value in document.items():
        name = key.encode() + b"\x00"
        if isinstance(value, bool):
            body += b"\x08" + name + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            body += (b"\x10" + name + struct.pack("<i", value) if -2**31 <= value < 2**31
                     else b"\x12" + name + struct.pack("<q", value))
        elif isinstance(value, float):
            body += b"\x01" + name + struct.pack("<d", value)
        elif isinstance(value, str):
            text = value.encode() + b"\x00"
            body += b"\x02" + name + struct.pack("<i", len(text)) + text
        elif isinstance(value, dict):
            body += b"\x03" + name + encode_document(value)
        elif isinstance(value, list):
            body += b"\x04" + name + encode_document({str(i): item for i, item in enumerate(value)})
        else:
            raise TypeError(f"no BSON encoding for {type(value).__name__}")
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def first_key(document: bytes) -> str:
    """The name of a BSON document's first element (the command name)."""
    if len(document) < 7 or document[4] == 0:
        raise ProtocolError("empty command document")
    end = document.index(b"\x00", 5)
    return document[5:end].decode("utf-8", "replace")


def command_reply(command: str) -> dict:
    if command.lower() in ("ismaster", "hello"):
        return {"ismaster": True, "topologyVersion": {"counter": 0},
                "maxBsonObjectSize": 16777216, "maxMessageSizeBytes": MAX_MESSAGE,
                "maxWriteBatchSize": 100000, "localTime": int(time.time() * 1000),
                "logicalSessionTimeoutMinutes": 30, "connectionId": next(_request_ids),
                "minWireVersion": 0, "maxWireVersion": 13, "readOnly": False, "ok": 1.0}
    if command == "ping":
        return {"ok": 1.0}
    if command.lower() == "buildinfo":
        return {"version": "5.0.26", "versionArray": [5, 0, 26, 0], "maxBsonObjectSize": 16777216, "ok": 1.0}
    return {"ok": 0.0, "errmsg": f"no such command: '{command}'", "code": 59, "codeName": "CommandNotFound"}


class MongodbService(Service):
    label = "mongodb"

    async def serve(self, reader, writer):
        while True:
            header = await read_exactly_or_eof(reader, HEADER.size)
            if not header:
                return
            length, request_id, _, opcode = HEADER.unpack(header)
            if not HEADER.size < length <= MAX_MESSAGE or opcode not in (OP_QUERY, OP_MSG):
                raise ProtocolError("bad message header")
            body = await read_exactly(reader, length - HEADER.size)
            if opcode == OP_QUERY:
                # flags(4) fullCollectionName(cstring) numberToSkip(4) numberToReturn(4) query
                name_end = body.index(b"\x00", 4) if b"\x00" in body[4:] else -1
                if name_end < 0 or not body[4:name_end].endswith(b".$cmd"):
                    raise ProtocolError("OP_QUERY outside $cmd")
                document = encode_document(command_reply(first_key(body[name_end + 9:])))
                reply = struct.pack("<iqii", 0, 0, 0, 1) + document
                await send(writer, HEADER.pack(HEADER.size + len(reply), next(_request_ids), request_id,
                                               OP_REPLY) + reply)
            else:
                # flagBits(4), then section kind 0 carries the command document
                if len(body) < 5 or body[4] != 0:
                    raise ProtocolError("OP_MSG without a body section")
                document = encode_document(command_reply(first_key(body[5:])))
                reply = struct.pack("<I", 0) + b"\x00" + document
                await send(writer, HEADER.pack(HEADER.size + len(reply), next(_request_ids), request_id,
                                               OP_MSG) + reply)
