"""VNC server's RFB handshake, imitating a TigerVNC/x11vnc server (RFC 6143 §7.1-7.2).

Sends "RFB 003.008\\n" at once and reads the client's 12-byte version. A valid version gets
the security-types list (VNC authentication); anything else gets the RFB 3.8 failure
message (zero types, then a reason string) and the connection closes. A client choosing VNC
authentication gets a 16-byte challenge; any response fails, as with a wrong password.
"""
from __future__ import annotations

import os
import re
import struct

from lzr_sim.services.base import Service, read_exactly, send

VERSION = b"RFB 003.008\n"
VERSION_PATTERN = re.compile(rb"RFB \d{3}\.\d{3}\n")
SECURITY_VNC_AUTH = 2


def failure(reason: bytes) -> bytes:
    return struct.pack(">I", len(reason)) + reason


class VncService(Service):
    label = "vnc"
    speaks_first = True

    async def serve(self, reader, writer):
        await send(writer, VERSION)
        client_version = await read_exactly(reader, 12)
        if not VERSION_PATTERN.fullmatch(client_version):
            await send(writer, b"\x00" + failure(b"Invalid protocol version"))
            return
        await send(writer, bytes([1, SECURITY_VNC_AUTH]))
        chosen = await read_exactly(reader, 1)
        if chosen[0] != SECURITY_VNC_AUTH:
            await send(writer, struct.pack(">I", 1) + failure(b"Security type not supported"))
            return
        await send(writer, os.urandom(16))
        await read_exactly(reader, 16)
        await send(writer, struct.pack(">I", 1) + failure(b"Authentication failed"))
