"""SSH server's opening, imitating OpenSSH's sshd (RFC 4253 §4.2, §7.1).

The server sends its identification string at once, then reads the client's. A client line
that is not `SSH-2.0-...` (or `SSH-1.99-...`) gets OpenSSH's "Invalid SSH identification
string." and the connection closes. A proper client gets the server's KEXINIT packet with
OpenSSH 9.2's algorithm lists; the simulator goes no further and closes when the client's
next packet is not a well-formed binary packet or when the client closes.

Options: `version` (software version, default "OpenSSH_9.2p1 Debian-2+deb12u3").
"""
from __future__ import annotations

import os
import struct

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_line, send

KEX = ("sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
       "ecdh-sha2-nistp256,diffie-hellman-group16-sha512,diffie-hellman-group14-sha256")
HOST_KEYS = "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519"
CIPHERS = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com"
MACS = "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256,hmac-sha1"
COMPRESSION = "none,zlib@openssh.com"
MSG_KEXINIT = 20


def name_list(text: str) -> bytes:
    return struct.pack(">I", len(text)) + text.encode()


def binary_packet(payload: bytes) -> bytes:
    """RFC 4253 §6 framing with the cipher "none": length, padding length, payload, padding."""
    padding = 8 - (len(payload) + 5) % 8
    if padding < 4:
        padding += 8
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + os.urandom(padding)


def kexinit() -> bytes:
    lists = [KEX, HOST_KEYS, CIPHERS, CIPHERS, MACS, MACS, COMPRESSION, COMPRESSION, "", ""]
    payload = bytes([MSG_KEXINIT]) + os.urandom(16) + b"".join(name_list(item) for item in lists)
    return binary_packet(payload + b"\x00" + b"\x00\x00\x00\x00")


class SshService(Service):
    label = "ssh"
    speaks_first = True

    async def serve(self, reader, writer):
        version = self.options.get("version", "OpenSSH_9.2p1 Debian-2+deb12u3")
        await send(writer, f"SSH-2.0-{version}\r\n".encode())
        client = await read_line(reader, limit=255)
        if not client.startswith((b"SSH-2.0-", b"SSH-1.99-")):
            await send(writer, b"Invalid SSH identification string.\r\n")
            return
        await send(writer, kexinit())
        while True:
            length, = struct.unpack(">I", await read_exactly(reader, 4))
            if not 5 <= length <= 35000:
                raise ProtocolError("bad packet length")
            await read_exactly(reader, length)
