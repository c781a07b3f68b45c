"""IMAP4rev1 server in the not-authenticated state, imitating Dovecot (RFC 3501).

Greets with an untagged OK carrying its capabilities. Tagged CAPABILITY, NOOP, LOGOUT and
LOGIN (which fails: no accounts) are answered; other tagged commands get "BAD", and a line
without a tag gets Dovecot's untagged "* BAD Error in IMAP command received by server.".
Dovecot disconnects after ten bad commands; so does this server.
"""
from __future__ import annotations

from lzr_sim.services.base import Service, read_line, send

CAPABILITIES = b"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN"
MAX_BAD_COMMANDS = 10


class ImapService(Service):
    label = "imap"
    speaks_first = True

    async def serve(self, reader, writer):
        await send(writer, b"* OK [CAPABILITY " + CAPABILITIES + b"] Dovecot ready.\r\n")
        bad = 0
        while line := await read_line(reader, limit=8192):
            parts = line.split()
            if len(parts) < 2 or not parts[0].isalnum():
                bad += 1
                await send(writer, b"* BAD Error in IMAP command received by server.\r\n")
            else:
                tag, command = parts[0], parts[1].upper()
                if command == b"LOGOUT":
                    await send(writer, b"* BYE Logging out\r\n" + tag + b" OK Logout completed.\r\n")
                    return
                if command == b"CAPABILITY":
                    reply = b"* CAPABILITY " + CAPABILITIES + b"\r\n" + tag + b" OK Capability completed.\r\n"
                elif command == b"NOOP":
                    reply = tag + b" OK NOOP completed.\r\n"
                elif command == b"LOGIN":
                    reply = tag + b" NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
                else:
                    bad += 1
                    reply = tag + b" BAD Error in IMAP command " + command + b": Unknown command.\r\n"
                await send(writer, reply)
            if bad >= MAX_BAD_COMMANDS:
                await send(writer, b"* BYE Too many invalid IMAP commands.\r\n")
                return
