"""SMTP server, imitating Postfix's smtpd before any mail is accepted (RFC 5321).

Greets with "220 <host> ESMTP Postfix". EHLO/HELO without a domain get 501 (Postfix's
"Syntax: EHLO hostname"); with one, EHLO lists the extensions and HELO answers 250. NOOP,
RSET, QUIT and VRFY are answered; MAIL/RCPT/DATA get 503 until EHLO; other verbs 502.
Postfix drops the client after too many errors; here after ten.

Options: `hostname` (default "mail.sim.test").
"""
from __future__ import annotations

from lzr_sim.services.base import Service, read_line, send

MAX_ERRORS = 10


class SmtpService(Service):
    label = "smtp"
    speaks_first = True

    async def serve(self, reader, writer):
        hostname = self.options.get("hostname", "mail.sim.test")
        await send(writer, f"220 {hostname} ESMTP Postfix (Debian/GNU)\r\n".encode())
        errors, greeted = 0, False
        while line := await read_line(reader, limit=2048):
            verb, _, argument = line.strip().partition(b" ")
            verb, argument = verb.upper(), argument.strip()
            if verb in (b"EHLO", b"HELO") and not argument:
                reply = b"501 Syntax: " + verb + b" hostname\r\n"
            elif verb == b"EHLO":
                greeted = True
                reply = (f"250-{hostname}\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
                         "250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
                         "250-DSN\r\n250 CHUNKING\r\n").encode()
            elif verb == b"HELO":
                greeted = True
                reply = f"250 {hostname}\r\n".encode()
            elif verb == b"QUIT":
                await send(writer, b"221 2.0.0 Bye\r\n")
                return
            elif verb in (b"NOOP", b"RSET"):
                reply = b"250 2.0.0 Ok\r\n"
            elif verb == b"VRFY":
                reply = b"252 2.0.0 " + argument + b"\r\n"
            elif verb in (b"MAIL", b"RCPT", b"DATA") and not greeted:
                reply = b"503 5.5.1 Error: send HELO/EHLO first\r\n"
            elif verb in (b"MAIL", b"RCPT", b"DATA"):
                reply = b"554 5.7.1 Relay access denied\r\n"
            else:
                reply = b"502 5.5.2 Error: command not recognized\r\n"
            if reply.startswith(b"5"):
                errors += 1
            await send(writer, reply)
            if errors >= MAX_ERRORS:
                await send(writer, b"421 4.7.0 Error: too many errors\r\n")
                return
