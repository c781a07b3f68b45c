"""DNP3 link-layer status requests.

LZR's 1002 bytes (docs/lzr-reference.md §3.3): two zero bytes, then 100 link-layer
frames `05 64 05 c9 <dest lo> <dest hi> 00 00 <crc>`, one per destination address 0..99 —
start bytes, length 5, control 0xc9 (master, request link status), source 0. Each header
block carries CRC-16/DNP (IEEE 1815 §9.2.2.2). A reply starting with the start bytes
`05 64` is DNP3 (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant

START = b"\x05\x64"
FRAMES = 100


def crc16_dnp(data: bytes) -> int:
    """CRC-16/DNP: reflected polynomial 0xA6BC (0x3D65), init 0, output complemented."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def link_status_request(destination: int) -> bytes:
    header = START + b"\x05\xc9" + destination.to_bytes(2, "little") + b"\x00\x00"
    return header + crc16_dnp(header).to_bytes(2, "little")


PROBE = b"\x00\x00" + b"".join(link_status_request(i) for i in range(FRAMES))

NEEDS = Needs(byte_in=START[:1])


def match(data: bytes) -> str | None:
    return "dnp3" if len(data) >= 10 and data[:2] == START else None


HANDSHAKE = Handshake(
    "dnp3", "100 DNP3 link-status requests", False, constant(PROBE), match, NEEDS
)
