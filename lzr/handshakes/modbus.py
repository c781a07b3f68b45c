"""Modbus/TCP Read Device Identification.

LZR's 11 bytes (docs/lzr-reference.md §3.3): MBAP header with transaction id 0x5a47,
protocol 0, length 5, unit 0, then function 0x2b / MEI type 0x0e (Read Device
Identification, basic, object 0) (Modbus Application Protocol v1.1b3 §6.21). A server echoes
the transaction and protocol ids in its reply, which is LZR's rule (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex("5a47" "0000" "0005" "00" "2b0e0100")
ECHOED_IDS = bytes.fromhex("5a470000")

NEEDS = Needs(byte_in=ECHOED_IDS[:1])


def match(data: bytes) -> str | None:
    return "modbus" if data.startswith(ECHOED_IDS) else None


HANDSHAKE = Handshake(
    "modbus", "Modbus/TCP Read Device Identification", False, constant(PROBE), match, NEEDS
)
