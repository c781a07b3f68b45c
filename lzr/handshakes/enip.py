"""EtherNet/IP List Identity.

The 24-byte encapsulation header of the CIP Networks Library Vol. 2 (EtherNet/IP adaptation,
§2-3 and §2-4.2), little-endian: command 0x0063 ListIdentity, no data, session 0, status 0,
an 8-byte sender context of our choosing, options 0. The device answers with the same
command, status 0 and our sender context echoed, followed by its identity item.
"""
from lzr.handshakes.base import Handshake, Needs, constant

LIST_IDENTITY = b"\x63\x00"
SENDER_CONTEXT = b"lzr-enip"
PROBE = LIST_IDENTITY + bytes(2) + bytes(4) + bytes(4) + SENDER_CONTEXT + bytes(4)

NEEDS = Needs(byte_in=LIST_IDENTITY[:1])


def match(data: bytes) -> str | None:
    if len(data) >= 24 and data[:2] == LIST_IDENTITY and data[12:20] == SENDER_CONTEXT:
        return "enip"
    return None


HANDSHAKE = Handshake("enip", "EtherNet/IP ListIdentity", False, constant(PROBE), match, NEEDS)
