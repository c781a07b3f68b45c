"""FTP server's control connection, imitating vsftpd (RFC 959).

Greets with "220 (vsFTPd 3.0.3)". Answers USER with 331, PASS with 530 (no accounts), SYST,
FEAT, NOOP, QUIT, and any other command with 530 before login, as vsftpd does; a line that
is not a command gets 500. vsftpd closes after too many failed logins; here after three.

Options: `banner` (text after "220 ", default "(vsFTPd 3.0.3)").
"""
from __future__ import annotations

from lzr_sim.services.base import Service, read_line, send

MAX_FAILED_LOGINS = 3


class FtpService(Service):
    label = "ftp"
    speaks_first = True

    async def serve(self, reader, writer):
        await send(writer, f"220 {self.options.get('banner', '(vsFTPd 3.0.3)')}\r\n".encode())
        failed = 0
        while line := await read_line(reader):
            verb, _, _ = line.strip().partition(b" ")
            verb = verb.upper()
            if verb == b"QUIT":
                await send(writer, b"221 Goodbye.\r\n")
                return
            if verb == b"USER":
                reply = b"331 Please specify the password.\r\n"
            elif verb == b"PASS":
                failed += 1
                reply = b"530 Login incorrect.\r\n"
            elif verb == b"SYST":
                reply = b"215 UNIX Type: L8\r\n"
            elif verb == b"FEAT":
                reply = (b"211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n"
                         b" SIZE\r\n TVFS\r\n211 End\r\n")
            elif verb == b"NOOP":
                reply = b"200 NOOP ok.\r\n"
            elif verb.isalpha() and len(verb) <= 4:
                reply = b"530 Please login with USER and PASS.\r\n"
            else:
                reply = b"500 Unknown command.\r\n"
            await send(writer, reply)
            if failed >= MAX_FAILED_LOGINS:
                return
