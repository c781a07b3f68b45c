"""HTTP/2 with prior knowledge (h2c).

The client connection preface of RFC 9113 §3.4: the string
`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` followed by an empty SETTINGS frame (§6.5). An HTTP/2
server's own preface is a SETTINGS frame on stream 0 (§3.4), so the reply starts with a
9-byte frame header of type 0x4 whose payload is a whole number of 6-byte settings. An
HTTP/1 server answers with a 400, which the http rule names instead.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = bytes.fromhex("000000" "04" "00" "00000000")
PROBE = PREFACE + EMPTY_SETTINGS

SETTINGS = 0x04
FLAGS = (0x00, 0x01)  # none, or ACK

NEEDS = Needs(byte_in=bytes((SETTINGS,)), at=3)


def match(data: bytes) -> str | None:
    if len(data) < 9 or data[3] != SETTINGS or data[4] not in FLAGS:
        return None
    if data[5:9] != b"\x00\x00\x00\x00":
        return None
    return "h2c" if int.from_bytes(data[:3], "big") % 6 == 0 else None


HANDSHAKE = Handshake(
    "h2c", "HTTP/2 cleartext preface and SETTINGS", False, constant(PROBE), match, NEEDS
)
