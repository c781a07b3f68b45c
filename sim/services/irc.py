"""IRC server, imitating ircd-hybrid/InspIRCd during connection registration (RFC 2812
§3.1 registration, §5 replies; RFC 1459 message format).

On connect the server sends its "*** Looking up your hostname..." NOTICE, as most daemons
do before the client says anything. NICK and USER register the client: the welcome
numerics 001-004 and a short MOTD (375/372/376) follow. Before registration other commands
get 451 "You have not registered"; after it PING gets PONG, unknown commands 421. A
nickname that is not valid gets 432. QUIT gets "ERROR :Closing link" and the connection
closes.

Options: `server_name` (default "irc.sim.test"), `network` (default "SimNet").
"""
from __future__ import annotations

import re

from lzr_sim.services.base import Service, read_line, send

NICKNAME = re.compile(rb"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}")
MAX_UNREGISTERED_LINES = 20


class IrcService(Service):
    label = "irc"
    speaks_first = True

    async def serve(self, reader, writer):
        server = self.options.get("server_name", "irc.sim.test").encode()
        network = self.options.get("network", "SimNet").encode()

        def reply(code: bytes, target: bytes, text: bytes) -> bytes:
            return b":" + server + b" " + code + b" " + target + b" " + text + b"\r\n"

        await send(writer, reply(b"NOTICE", b"*", b":*** Looking up your hostname..."))
        nick, user, registered, lines = b"", b"", False, 0
        while line := await read_line(reader, limit=512):
            words = line.strip().split(b" ")
            command = words[0].upper()
            lines += 1
            if command == b"QUIT":
                await send(writer, b"ERROR :Closing link: (" + (nick or b"*") + b") [Quit]\r\n")
                return
            if command == b"NICK" and len(words) > 1:
                if not NICKNAME.fullmatch(words[1].lstrip(b":")):
                    await send(writer, reply(b"432", nick or b"*", words[1] + b" :Erroneous Nickname"))
                    continue
                nick = words[1].lstrip(b":")
            elif command == b"USER" and len(words) >= 5:
                user = words[1]
            elif command == b"PING" and registered:
                await send(writer, b":" + server + b" PONG " + server + b" " + b" ".join(words[1:]) + b"\r\n")
            elif registered:
                await send(writer, reply(b"421", nick, command + b" :Unknown command"))
            elif command not in (b"NICK", b"USER", b"CAP", b"PASS"):
                await send(writer, reply(b"451", b"*", command + b" :You have not registered"))
            if not registered and nick and user:
                registered = True
                await send(writer, b"".join([
                    reply(b"001", nick, b":Welcome to the " + network + b" IRC Network "
                          + nick + b"!" + user + b"@sim"),
                    reply(b"002", nick, b":Your host is " + server + b", running version hybrid-8.2.43"),
                    reply(b"003", nick, b":This server was created Jan 1 2024"),
                    reply(b"004", nick, server + b" hybrid-8.2.43 DFGHRSWabcdefgijklnopqrsuwxy "
                          b"bciklmnoprstveIMORST"),
                    reply(b"375", nick, b":- " + server + b" Message of the Day -"),
                    reply(b"372", nick, b":- Welcome to the simulated network."),
                    reply(b"376", nick, b":End of /MOTD command."),
                ]))
            if not registered and lines >= MAX_UNREGISTERED_LINES:
                await send(writer, b"ERROR :Closing link: (*) [Registration timeout]\r\n")
                return
