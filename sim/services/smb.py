"""SMB server's dialect negotiation, imitating Samba with SMB1 enabled ([MS-CIFS] §2.2.4.52
SMB_COM_NEGOTIATE, [MS-SMB2] §2.2.3-2.2.4 NEGOTIATE, over NetBIOS session framing as in
RFC 1002 §4.3 / direct TCP).

An SMB1 NEGOTIATE offering "NT LM 0.12" gets the NT LM 0.12 negotiate response (user-level
security with challenge/response, an 8-byte challenge and the domain name); if it also
offers "SMB 2.002" or "SMB 2.???" the server switches to SMB2 and answers with an SMB2
NEGOTIATE response, as Samba and Windows do. An SMB2 NEGOTIATE gets an SMB2 response for
dialect 0x0210 or 0x0202. An SMB1 NEGOTIATE with no known dialect gets dialect index
0xFFFF. One whose word or byte count does not fit the message (LZR's own SMB1 probe is such
a message) gets an error reply with STATUS_INVALID_SMB, as [MS-CIFS] §3.3.5.2 directs, or,
with option `malformed` "drop", no answer and a closed connection, as Samba does
("invalid wct number"). Anything that is not an SMB message in a session message closes the connection.

Options: `domain` (default "WORKGROUP"), `malformed` ("error", default, or "drop").
"""
from __future__ import annotations

import os
import struct
import time
import uuid

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

SMB1_MAGIC, SMB2_MAGIC = b"\xffSMB", b"\xfeSMB"
SMB_COM_NEGOTIATE, SMB2_NEGOTIATE = 0x72, 0x0000
SESSION_MESSAGE = 0x00
FLAGS_REPLY, FLAGS2_UNICODE_NT_STATUS = 0x98, 0xC801
STATUS_INVALID_SMB = 0x00010002
# Unicode, large files, NT SMBs, RPC, NT status, ...; not extended security (0x80000000).
CAPABILITIES = 0x8000E3FD & ~0x80000000
WINDOWS_EPOCH_OFFSET = 11644473600


def filetime() -> int:
    return int((time.time() + WINDOWS_EPOCH_OFFSET) * 10_000_000)


def session_message(payload: bytes) -> bytes:
    return bytes([SESSION_MESSAGE]) + len(payload).to_bytes(3, "big") + payload


def smb1_dialects(message: bytes) -> list[bytes] | None:
    """Dialect strings of an SMB1 NEGOTIATE request (each 0x02 "name" NUL), or None when the
    word and byte counts do not fit the message."""
    if len(message) < 35:
        return None
    offset = 33 + 2 * message[32]
    if offset + 2 > len(message):
        return None
    byte_count, = struct.unpack_from("<H", message, offset)
    if offset + 2 + byte_count > len(message):
        return None
    buffer = message[offset + 2: offset + 2 + byte_count]
    return [entry[1:] for entry in buffer.split(b"\x00") if entry.startswith(b"\x02")]


def smb1_header(request: bytes, status: int) -> bytes:
    """The header of the reply to an SMB1 request: the request's TID, PID, UID and MID
    (header bytes 24-31) are echoed, as in every reply."""
    ids = request[24:32].ljust(8, b"\x00")
    return (SMB1_MAGIC + bytes([SMB_COM_NEGOTIATE]) + struct.pack("<I", status) + bytes([FLAGS_REPLY])
            + struct.pack("<H", FLAGS2_UNICODE_NT_STATUS) + bytes(12) + ids)


class SmbService(Service):
    label = "smb"

    def __init__(self, **options):
        super().__init__(**options)
        self.server_guid = uuid.uuid4().bytes_le

    def smb1_negotiate(self, request: bytes) -> bytes:
        dialects = smb1_dialects(request)
        if dialects is None:
            if self.options.get("malformed", "error") == "drop":
                raise ProtocolError("invalid word count")
            return smb1_header(request, STATUS_INVALID_SMB) + b"\x00\x00\x00"  # no words, no bytes
        if any(name in (b"SMB 2.002", b"SMB 2.???") for name in dialects):
            return self.smb2_negotiate_response(0x0202 if b"SMB 2.???" not in dialects else 0x02FF, 0)
        header = smb1_header(request, 0)
        if b"NT LM 0.12" not in dialects:
            return header + b"\x01" + struct.pack("<H", 0xFFFF) + struct.pack("<H", 0)
        domain = (self.options.get("domain", "WORKGROUP") + "\x00").encode("utf-16-le")
        challenge = os.urandom(8)
        words = struct.pack("<HBHHIIIIQhB", dialects.index(b"NT LM 0.12"), 0x03, 50, 1, 65536, 65536,
                            0, CAPABILITIES, filetime(), 0, len(challenge))
        data = challenge + domain
        return header + bytes([17]) + words + struct.pack("<H", len(data)) + data

    def smb2_negotiate_response(self, dialect: int, message_id: int) -> bytes:
        header = (SMB2_MAGIC + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, SMB2_NEGOTIATE, 1, 0x00000001, 0,
                                           message_id, 0, 0, 0, bytes(16)))
        body = struct.pack("<HHHH16sIIIIQQHHI", 65, 0x0001, dialect, 0, self.server_guid, 0x7,
                           8388608, 8388608, 8388608, filetime(), 0, 128, 0, 0)
        return header + body + b"\x00"  # StructureSize 65 counts one byte of the (empty) buffer

    def smb2_negotiate(self, request: bytes) -> bytes:
        dialect_count, = struct.unpack_from("<H", request, 64 + 2)
        dialects = struct.unpack_from(f"<{dialect_count}H", request, 64 + 36)
        message_id, = struct.unpack_from("<Q", request, 24)
        chosen = max((d for d in dialects if d in (0x0202, 0x0210)), default=None)
        if chosen is None:
            raise ProtocolError("no SMB2 dialect in common")
        return self.smb2_negotiate_response(chosen, message_id)

    async def serve(self, reader, writer):
        while header := await read_exactly_or_eof(reader, 4):
            if header[0] != SESSION_MESSAGE:
                raise ProtocolError("not a NetBIOS session message")
            length = int.from_bytes(header[1:], "big")
            message = await read_exactly(reader, length)
            try:
                if message.startswith(SMB1_MAGIC) and message[4] == SMB_COM_NEGOTIATE:
                    reply = self.smb1_negotiate(message)
                elif message.startswith(SMB2_MAGIC) and len(message) >= 100:
                    reply = self.smb2_negotiate(message)
                else:
                    raise ProtocolError("not an SMB NEGOTIATE")
            except (struct.error, IndexError):
                raise ProtocolError("malformed NEGOTIATE") from None
            await send(writer, session_message(reply))
