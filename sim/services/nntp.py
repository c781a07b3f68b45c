"""NNTP server in reader mode, imitating INN's nnrpd (RFC 3977: §5.1 greeting, §5.2
CAPABILITIES, §5.3 MODE READER, §5.4 QUIT, §6.1.1 GROUP, §7.1 DATE, §7.6.1 LIST ACTIVE,
§3.2.1 generic responses).

Greets with 200 (posting allowed). CAPABILITIES lists the server's capabilities, MODE
READER answers 200, DATE 111, LIST (ACTIVE) the groups, GROUP selects one (211) or answers
411, HELP 100, QUIT 205; other commands get 500 "What?", and arguments that do not fit 501.

Options: `groups` (name -> article count, default {"lzr_sim.test": 3, "lzr_sim.announce": 1}).
"""
from __future__ import annotations

import time

from lzr_sim.services.base import Service, read_line, send


class NntpService(Service):
    label = "nntp"
    speaks_first = True

    async def serve(self, reader, writer):
        groups = self.options.get("groups", {"lzr_sim.test": 3, "lzr_sim.announce": 1})
        await send(writer, b"200 news.sim.test InterNetNews NNRP server INN 2.7.1 ready (posting ok)\r\n")
        while line := await read_line(reader, limit=512):
            words = line.split()
            command = words[0].upper() if words else b""
            arguments = words[1:]
            if command == b"QUIT":
                await send(writer, b"205 Bye!\r\n")
                return
            if command == b"CAPABILITIES":
                reply = (b"101 Capability list:\r\nVERSION 2\r\nIMPLEMENTATION INN 2.7.1\r\nREADER\r\n"
                         b"POST\r\nLIST ACTIVE NEWSGROUPS\r\nOVER\r\n.\r\n")
            elif command == b"MODE" and [a.upper() for a in arguments] == [b"READER"]:
                reply = b"200 news.sim.test InterNetNews NNRP server INN 2.7.1 ready (posting ok)\r\n"
            elif command == b"DATE" and not arguments:
                reply = b"111 " + time.strftime("%Y%m%d%H%M%S", time.gmtime()).encode() + b"\r\n"
            elif command == b"LIST" and [a.upper() for a in arguments] in ([], [b"ACTIVE"]):
                reply = (b"215 list of newsgroups follows\r\n"
                         + b"".join(b"%s %010d %010d y\r\n" % (name.encode(), count, 1)
                                    for name, count in groups.items())
                         + b".\r\n")
            elif command == b"GROUP" and len(arguments) == 1:
                name = arguments[0].decode("utf-8", "replace")
                if name in groups:
                    count = groups[name]
                    reply = b"211 %d 1 %d %s\r\n" % (count, count, arguments[0])
                else:
                    reply = b"411 No such group " + arguments[0] + b"\r\n"
            elif command == b"HELP":
                reply = (b"100 Legal commands\r\n  CAPABILITIES\r\n  DATE\r\n  GROUP newsgroup\r\n  HELP\r\n"
                         b"  LIST\r\n  MODE READER\r\n  QUIT\r\n.\r\n")
            elif command in (b"CAPABILITIES", b"MODE", b"DATE", b"LIST", b"GROUP"):
                reply = b"501 Syntax error\r\n"
            else:
                reply = b"500 What?\r\n"
            await send(writer, reply)
