"""POP3 server in the AUTHORIZATION state, imitating Dovecot (RFC 1939, RFC 2449).

Greets with "+OK Dovecot ready.". CAPA lists capabilities, USER is accepted, PASS fails
(no accounts), NOOP/QUIT behave as specified; other commands get "-ERR Unknown command.".
Dovecot disconnects after ten bad commands; so does this server.
"""
from __future__ import annotations

from lzr_sim.services.base import Service, read_line, send

MAX_BAD_COMMANDS = 10


class Pop3Service(Service):
    label = "pop3"
    speaks_first = True

    async def serve(self, reader, writer):
        await send(writer, b"+OK Dovecot ready.\r\n")
        bad = 0
        while line := await read_line(reader, limit=1024):
            verb = line.strip().partition(b" ")[0].upper()
            if verb == b"QUIT":
                await send(writer, b"+OK Logging out\r\n")
                return
            if verb == b"CAPA":
                reply = (b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n"
                         b"USER\r\nSASL PLAIN\r\n.\r\n")
            elif verb == b"USER":
                reply = b"+OK\r\n"
            elif verb == b"PASS":
                reply = b"-ERR [AUTH] Authentication failed.\r\n"
            elif verb == b"NOOP":
                reply = b"+OK\r\n"
            else:
                bad += 1
                reply = b"-ERR Unknown command.\r\n"
            await send(writer, reply)
            if bad >= MAX_BAD_COMMANDS:
                await send(writer, b"-ERR Too many bad commands.\r\n")
                return
