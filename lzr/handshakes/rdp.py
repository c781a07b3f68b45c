"""RDP X.224 Connection Request.

LZR's 38 bytes (docs/lzr-reference.md §3.3; MS-RDPBCGR §2.2.1.1): TPKT, X.224 CR,
`Cookie: mstshash=` with an empty user name, and an RDP negotiation request for TLS. LZR's
rule (§3.1) is the exact start of the Connection Confirm its test servers sent, including
the destination reference 0xfeca and source reference 0x1234, which xrdp does not echo
(it leaves the destination reference 0). Ours also names any X.224 Connection Confirm that
carries an RDP negotiation response or failure (MS-RDPBCGR §2.2.1.2.1, §2.2.1.2.2), which
only an RDP server sends.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex(
    "0300 0026" "21 e0 0000 feca 00"  # TPKT length 38, X.224 CR
    "436f6f6b69653a206d737473686173683d0d0a"  # "Cookie: mstshash=\r\n"
    "01 00 0800 01000000".replace(" ", "")  # RDP_NEG_REQ: protocols = TLS
)
CONFIRM_START = bytes.fromhex("03000013 0ed0 feca 1234".replace(" ", ""))
CONNECTION_CONFIRM = 0xD0
NEGOTIATION_ANSWERS = (0x02, 0x03)     # TYPE_RDP_NEG_RSP, TYPE_RDP_NEG_FAILURE

NEEDS = Needs(byte_in=CONFIRM_START[:1])


def lzr_match(data: bytes) -> str | None:
    return "rdp" if len(data) >= 11 and data[:10] == CONFIRM_START else None


def is_negotiation_answer(data: bytes) -> bool:
    """TPKT version 3, an X.224 Connection Confirm of length indicator 14 (6 + 8), and an
    8-byte RDP_NEG_RSP or RDP_NEG_FAILURE after its fixed part."""
    return (len(data) >= 19 and data[0] == 3 and data[4] == 14
            and data[5] == CONNECTION_CONFIRM and data[11] in NEGOTIATION_ANSWERS
            and data[13:15] == b"\x08\x00")


def match(data: bytes) -> str | None:
    return "rdp" if lzr_match(data) or is_negotiation_answer(data) else None


HANDSHAKE = Handshake(
    "rdp", "RDP X.224 Connection Request asking for TLS", False, constant(PROBE), match, NEEDS,
    lzr_match=lzr_match,
)
