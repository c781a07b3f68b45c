"""IEC 60870-5-104 STARTDT.

The telecontrol protocol of IEC 60870-5-104 §5: every APDU starts with 0x68 and a length; a
U-format control field carries STARTDT act (0x07). A controlled station answers with the
U-format confirmation STARTDT con (0x0b); one that is already started, or busy, may answer
STOPDT con (0x23) or a TESTFR act/con (0x43/0x83) instead.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex("6804" "07000000")
U_FORMAT_REPLIES = frozenset((0x0B, 0x23, 0x43, 0x83))

NEEDS = Needs(byte_in=b"\x68")


def match(data: bytes) -> str | None:
    if data[:2] == b"\x68\x04" and len(data) >= 6 and data[2] in U_FORMAT_REPLIES:
        if data[3:6] == b"\x00\x00\x00":
            return "iec104"
    return None


HANDSHAKE = Handshake("iec104", "IEC 60870-5-104 STARTDT act", False, constant(PROBE), match, NEEDS)
