"""Siemens S7: ISO-on-TCP COTP Connection Request.

LZR's 22 bytes (docs/lzr-reference.md §3.3): TPKT (RFC 1006) and a COTP CR (ISO 8073)
with the TSAPs of an S7 PLC's rack 0 / slot 2. The rule (§3.1) is a generic COTP
Connection Confirm: a length indicator that fits the TPKT payload and PDU type 0xd0.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex("03000016" "11e00000000400" "c1020100" "c2020200" "c0010a")
CONNECTION_CONFIRM = 0xD0

NEEDS = Needs(byte_in=bytes((CONNECTION_CONFIRM,)), at=5)


def match(data: bytes) -> str | None:
    if len(data) >= 6 and data[4] + 1 == len(data) - 4 and data[5] == CONNECTION_CONFIRM:
        return "siemens"
    return None


HANDSHAKE = Handshake("siemens", "S7 COTP Connection Request", False, constant(PROBE), match, NEEDS)
