"""Siemens S7: ISO-on-TCP COTP Connection Request.

LZR's 22 bytes (docs/lzr-reference.md §3.3): TPKT (RFC 1006) and a COTP CR (ISO 8073)
with the TSAPs of an S7 PLC's rack 0 / slot 2. LZR's rule (§3.1) is a generic COTP
Connection Confirm: a length indicator that fits the TPKT payload and PDU type 0xd0. An RDP
server sends one too (xrdp's is named `siemens` by LZR). Ours wants what an S7 PLC's confirm
has and an RDP server's has not: a COTP parameter (TPDU size 0xc0 or a TSAP 0xc1/0xc2,
ISO 8073 §13.3.4) after the fixed part, where an RDP server puts its negotiation answer.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex("03000016" "11e00000000400" "c1020100" "c2020200" "c0010a")
CONNECTION_CONFIRM = 0xD0
COTP_PARAMETERS = (0xC0, 0xC1, 0xC2)

NEEDS = Needs(byte_in=bytes((CONNECTION_CONFIRM,)), at=5)


def lzr_match(data: bytes) -> str | None:
    if len(data) >= 6 and data[4] + 1 == len(data) - 4 and data[5] == CONNECTION_CONFIRM:
        return "siemens"
    return None


def match(data: bytes) -> str | None:
    if lzr_match(data) and len(data) > 11 and data[11] in COTP_PARAMETERS:
        return "siemens"
    return None


HANDSHAKE = Handshake("siemens", "S7 COTP Connection Request", False, constant(PROBE), match,
                      NEEDS, lzr_match=lzr_match)
