"""Oracle TNS CONNECT.

LZR's 109-byte TNS CONNECT packet (docs/lzr-reference.md §3.3): TNS header (length 109,
type 1 CONNECT), version 0x138 and connect data
`(DESCRIPTION=(CONNECT_DATA=(CID=(PROGRAM=lzrORA))))` with no service name. The listener
refuses it with a REFUSE packet whose text echoes `DESCRIPTION=(` and carries `(EMFI=4)`,
which is LZR's rule (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

CONNECT_DATA = b"(DESCRIPTION=(CONNECT_DATA=(CID=(PROGRAM=lzrORA))))"
PROBE = (
    bytes.fromhex(
        "006d" "0000" "01" "00" "0000"  # TNS header: length 109, CONNECT
        "0138" "012c" "0c41" "2000" "ffff" "7f08" "0000" "0100"  # versions, options, SDU, ...
        "0033" "003a"  # connect data length 51 at offset 58
        "00000800" "4141"
    )
    + bytes(24)
    + CONNECT_DATA
)

NEEDS = Needs(substrings=(b"DESCRIPTION=(",))


def match(data: bytes) -> str | None:
    return "oracle" if contains(data, b"DESCRIPTION=(") and contains(data, b"(EMFI=4)") else None


HANDSHAKE = Handshake(
    "oracle", "Oracle TNS CONNECT without a service", False, constant(PROBE), match, NEEDS
)
