"""NATS server, imitating nats-server 2.10 (NATS client protocol: INFO, CONNECT, PUB, SUB,
UNSUB, PING/PONG, MSG, +OK/-ERR).

The server speaks first with `INFO {json}` describing itself. It then reads protocol lines:
CONNECT (verbose mode makes every accepted operation answer +OK), PING (PONG), PONG,
SUB/UNSUB, and PUB, whose payload is delivered as MSG to this connection's own matching
subscriptions (subjects with * and > wildcards). An unknown operation gets
"-ERR 'Unknown Protocol Operation'" and the connection is closed, as nats-server does.
"""
from __future__ import annotations

import json
import os

from lzr_sim.services.base import Service, read_exactly, read_line, send

MAX_PAYLOAD = 1024 * 1024


def subject_matches(pattern: list[bytes], subject: list[bytes]) -> bool:
    for index, token in enumerate(pattern):
        if token == b">":
            return len(subject) > index
        if index >= len(subject) or (token != b"*" and token != subject[index]):
            return False
    return len(pattern) == len(subject)


class NatsService(Service):
    label = "nats"
    speaks_first = True

    def info(self, port: int) -> bytes:
        fields = {"server_id": os.urandom(14).hex().upper(), "server_name": "sim-nats", "version": "2.10.7",
                  "proto": 1, "go": "go1.21.5", "host": "0.0.0.0", "port": port, "headers": True,
                  "max_payload": MAX_PAYLOAD}
        return b"INFO " + json.dumps(fields, separators=(",", ":")).encode() + b" \r\n"

    async def serve(self, reader, writer):
        await send(writer, self.info(writer.get_extra_info("sockname")[1]))
        verbose, subscriptions = False, {}
        while line := await read_line(reader, limit=MAX_PAYLOAD):
            words = line.split()
            if not words:
                continue
            operation = words[0].upper()
            reply = b""
            if operation == b"CONNECT":
                try:
                    verbose = bool(json.loads(line[len(b"CONNECT"):]).get("verbose"))
                except (ValueError, AttributeError):
                    await send(writer, b"-ERR 'Invalid Connect Options'\r\n")
                    return
            elif operation == b"PING":
                reply = b"PONG\r\n"
            elif operation == b"SUB" and len(words) in (3, 4):
                subscriptions[words[-1]] = words[1].split(b".")
            elif operation == b"UNSUB" and len(words) in (2, 3):
                subscriptions.pop(words[1], None)
            elif operation == b"PUB" and len(words) in (3, 4) and words[-1].isdigit():
                size = int(words[-1])
                if size > MAX_PAYLOAD:
                    await send(writer, b"-ERR 'Maximum Payload Violation'\r\n")
                    return
                payload = (await read_exactly(reader, size + 2))[:size]
                subject = words[1]
                reply = b"".join(b"MSG %s %s %d\r\n%s\r\n" % (subject, sid, size, payload)
                                 for sid, pattern in subscriptions.items()
                                 if subject_matches(pattern, subject.split(b".")))
            elif operation != b"PONG":
                await send(writer, b"-ERR 'Unknown Protocol Operation'\r\n")
                return
            if verbose and operation != b"PING":
                reply = b"+OK\r\n" + reply
            if reply:
                await send(writer, reply)
