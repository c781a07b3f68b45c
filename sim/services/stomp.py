"""STOMP broker, imitating RabbitMQ's STOMP plugin (STOMP 1.2 specification: frames,
"Connecting", "Protocol Negotiation", ERROR frames).

A frame is a command line, header lines, an empty line, a body and a NUL; end-of-lines
between frames are heart-beats. CONNECT (or STOMP) negotiates the highest version both
sides accept (1.0-1.2; none gets an ERROR listing the supported versions). As RabbitMQ's
default `guest` user may only log in from localhost, a remote client without valid
credentials gets ERROR "Access refused"; with option `anonymous` true the broker answers
CONNECTED with its version, session and heart-beat. Any other command before CONNECT gets
ERROR "Illegal command". Every ERROR is followed by closing the connection.

Options: `anonymous` (default false), `users` (login -> passcode, default {}).
"""
from __future__ import annotations

import os

from lzr_sim.services.base import ProtocolError, Service, send

VERSIONS = ("1.0", "1.1", "1.2")
MAX_FRAME = 64 * 1024


def frame(command: str, headers: list[tuple[str, str]], body: str = "") -> bytes:
    lines = [command, *(f"{name}:{value}" for name, value in headers)]
    if body:
        lines.append(f"content-length:{len(body.encode())}")
    return ("\n".join(lines) + "\n\n" + body).encode() + b"\x00"


def error(message: str, detail: str) -> bytes:
    return frame("ERROR", [("message", message), ("content-type", "text/plain"),
                           ("version", ",".join(VERSIONS))], detail)


class StompService(Service):
    label = "stomp"

    async def read_frame(self, reader, buffer: bytearray) -> tuple[str, dict[str, str]] | None:
        """The next frame's command and headers (the body is not needed), or None at EOF."""
        while b"\x00" not in buffer:
            chunk = await reader.read(4096)
            if not chunk:
                return None
            buffer += chunk
            if len(buffer) > MAX_FRAME:
                raise ProtocolError("frame too large")
        end = buffer.index(b"\x00")
        text = bytes(buffer[:end]).lstrip(b"\r\n").decode("utf-8", "replace")
        del buffer[:end + 1]
        head = text.split("\n\n", 1)[0].split("\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.rstrip("\r").partition(":")
            headers.setdefault(name, value)  # STOMP 1.2: the first occurrence wins
        return head[0].rstrip("\r"), headers

    async def serve(self, reader, writer):
        buffer = bytearray()
        parsed = await self.read_frame(reader, buffer)
        if parsed is None:
            return
        command, headers = parsed
        if command not in ("CONNECT", "STOMP"):
            detail = f"You must log in using CONNECT first, not {command}"
            await send(writer, error("Illegal command", detail))
            return
        offered = headers.get("accept-version", "1.0").split(",")
        common = [version for version in VERSIONS if version in offered]
        if not common:
            await send(writer, error("Version mismatch", "Supported protocol versions are 1.0,1.1,1.2"))
            return
        users = self.options.get("users", {})
        login = headers.get("login")
        allowed = ((self.options.get("anonymous", False) and login is None)
                   or (login in users and users[login] == headers.get("passcode")))
        if not allowed:
            await send(writer, error("Access refused", f"Access refused for user '{login or 'guest'}'"))
            return
        await send(writer, frame("CONNECTED", [("server", "RabbitMQ/3.10.8"),
                                               ("session", f"session-{os.urandom(11).hex()}"),
                                               ("heart-beat", "0,0"), ("version", common[-1])]))
        while await self.read_frame(reader, buffer) is not None:
            pass  # subscriptions and messages are beyond this simulator; frames are consumed
