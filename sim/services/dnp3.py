"""DNP3 outstation's data link layer, imitating an RTU (IEEE 1815-2012 §9.2: frame format,
CRC, link functions).

The outstation scans its input for the start bytes 05 64, as DNP3 link layers do, and
reads each frame's 10-byte header; a header whose CRC is wrong is discarded and the scan
resumes one byte further. Frames addressed to its own address from a master
(DIR=1, PRM=1) are answered: REQUEST_LINK_STATUS with LINK_STATUS and RESET_LINK_STATES with
ACK, both sent to the master's source address; broadcasts are not answered. Other link
functions get NOT_SUPPORTED. User data blocks after the header are skipped (the
application layer is out of scope).

Options: `address` (outstation address, default 1; the scanner's probe asks addresses
0-99, so any of those is found).
"""
from __future__ import annotations

import struct

from lzr.handshakes.dnp3 import crc16_dnp
from lzr_sim.services.base import Service, send

START = b"\x05\x64"
HEADER_LENGTH = 10
REQUEST_LINK_STATUS, RESET_LINK_STATES = 9, 0
ACK, LINK_STATUS, NOT_SUPPORTED = 0, 11, 15


def link_frame(control: int, destination: int, source: int) -> bytes:
    header = START + struct.pack("<BBHH", 5, control, destination, source)
    return header + struct.pack("<H", crc16_dnp(header))


def user_data_length(length_field: int) -> int:
    """Bytes after the header: user data in 16-byte blocks, each followed by a 2-byte CRC."""
    data = length_field - 5
    return data + 2 * ((data + 15) // 16)


class Dnp3Service(Service):
    label = "dnp3"

    def answer(self, header: bytes) -> bytes:
        """The reply to one frame header; empty when the frame is not for us to answer."""
        _, _, _, control, destination, source = struct.unpack("<BBBBHH", header[:8])
        own = int(self.options.get("address", 1))
        from_master, primary = control & 0x80, control & 0x40
        # Frames to other addresses are not ours; broadcasts are never answered (§9.2.5).
        if not (from_master and primary) or destination != own:
            return b""
        function = control & 0x0F
        replies = {REQUEST_LINK_STATUS: LINK_STATUS, RESET_LINK_STATES: ACK}
        reply_function = replies.get(function, NOT_SUPPORTED)
        return link_frame(reply_function, source, own)

    async def serve(self, reader, writer):
        buffer = b""
        while chunk := await reader.read(4096):
            buffer += chunk
            replies = []
            while True:
                start = buffer.find(START)
                if start < 0:
                    buffer = buffer[-1:]  # keep a possible first start byte
                    break
                buffer = buffer[start:]
                if len(buffer) < HEADER_LENGTH:
                    break
                header = buffer[:HEADER_LENGTH]
                if struct.unpack_from("<H", header, 8)[0] != crc16_dnp(header[:8]) or header[2] < 5:
                    buffer = buffer[1:]
                    continue
                skip = HEADER_LENGTH + user_data_length(header[2])
                if len(buffer) < skip:
                    break
                buffer = buffer[skip:]
                replies.append(self.answer(header))
            if any(replies):
                await send(writer, b"".join(replies))
