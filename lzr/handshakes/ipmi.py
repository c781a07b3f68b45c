"""IPMI over RMCP.

LZR's 23 bytes (docs/lzr-reference.md §3.3): an RMCP header (version 6, sequence 0xff,
class IPMI) and an IPMI 1.5 session carrying Get Channel Authentication Capabilities
(IPMI v2.0 §13.6, §22.13). IPMI is a UDP protocol; over TCP LZR names either the RMCP
header echoed back or one fixed 17-byte reply (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex("0600ff07" "000000000000000000" "092018c88100388e04b5")
RMCP_HEADER = bytes.fromhex("0600ff07")
KNOWN_REPLY = bytes.fromhex("0000000209000000010000000000000000")

NEEDS = Needs(byte_in=KNOWN_REPLY[:1] + RMCP_HEADER[:1])


def match(data: bytes) -> str | None:
    if data == KNOWN_REPLY or data.startswith(RMCP_HEADER):
        return "ipmi"
    return None


HANDSHAKE = Handshake(
    "ipmi", "IPMI Get Channel Auth Capabilities in RMCP", False, constant(PROBE), match, NEEDS
)
