"""Telnet server, imitating the option negotiation of netkit telnetd before login
(RFC 854 commands, RFC 1091/1079/1096/1572 options).

On connect it asks the client DO TERMINAL-TYPE, DO TERMINAL-SPEED, DO X-DISPLAY-LOCATION and
DO NEW-ENVIRON. It answers the client's requests: DO ECHO and DO SUPPRESS-GO-AHEAD get WILL,
every other DO gets WONT; WILL for an option it asked for is taken silently, any other WILL
gets DONT.
Then it prints a login prompt and reads lines; any login fails with "Login incorrect" and
after three tries the connection is closed, as login(1) does.

Options: `hostname` (shown in the prompt, default "sim").
"""
from __future__ import annotations

from lzr_sim.services.base import Service, send

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SUPPRESS_GO_AHEAD = 1, 3
TERMINAL_TYPE, TERMINAL_SPEED, X_DISPLAY_LOCATION, NEW_ENVIRON = 24, 32, 35, 39
OPENING = bytes([IAC, DO, TERMINAL_TYPE, IAC, DO, TERMINAL_SPEED, IAC, DO, X_DISPLAY_LOCATION,
                 IAC, DO, NEW_ENVIRON])
MAX_LOGINS = 3


class TelnetService(Service):
    label = "telnet"
    speaks_first = True

    def answer(self, command: int, option: int) -> bytes:
        """Our reply to the client's DO/DONT/WILL/WONT `option`."""
        if command == DO:
            verb = WILL if option in (ECHO, SUPPRESS_GO_AHEAD) else WONT
        elif command == WILL:
            # We asked for these (OPENING); agreeing needs no answer.
            if option in (TERMINAL_TYPE, TERMINAL_SPEED, X_DISPLAY_LOCATION, NEW_ENVIRON):
                return b""
            verb = DONT
        else:
            return b""  # DONT/WONT are acknowledgements of a refusal: no reply (RFC 854).
        return bytes([IAC, verb, option])

    async def serve(self, reader, writer):
        hostname = self.options.get("hostname", "sim")
        await send(writer, OPENING)
        await send(writer, f"Debian GNU/Linux 12\r\n{hostname} login: ".encode())
        line, lines_entered, in_subnegotiation = bytearray(), 0, False
        while chunk := await reader.read(1024):
            data = iter(chunk)
            for byte in data:
                if byte == IAC:
                    command = next(data, None)
                    if command in (DO, DONT, WILL, WONT):
                        option = next(data, None)
                        if option is not None:
                            reply = self.answer(command, option)
                            if reply:
                                await send(writer, reply)
                    elif command == SB:
                        in_subnegotiation = True
                    elif command == SE:
                        in_subnegotiation = False
                    elif command == IAC and not in_subnegotiation:
                        line.append(IAC)
                elif in_subnegotiation:
                    continue
                elif byte == ord("\n") or byte == ord("\r"):
                    if not line:
                        continue
                    line.clear()
                    lines_entered += 1  # a user name, then its password, in turn
                    if lines_entered % 2:
                        await send(writer, b"\r\nPassword: ")
                    else:
                        await send(writer, f"\r\nLogin incorrect\r\n{hostname} login: ".encode())
                    if lines_entered >= 2 * MAX_LOGINS:
                        return
                elif byte >= 32:
                    line.append(byte)
