"""Microsoft SQL Server TDS PRELOGIN.

LZR's 47-byte PRELOGIN message (docs/lzr-reference.md §3.3; MS-TDS §2.2.6.5). The
server's PRELOGIN response comes in a TDS packet of type 4 (tabular result) with status 1
(end of message) (MS-TDS §2.2.3.1), which is LZR's rule (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant

# Byte-exact with LZR, including its ENCRYPTION option offset of 0x0002 (the layout would
# put it at 0x0020); servers answer all the same.
PROBE = bytes.fromhex(
    "1201002f00000200"  # TDS header: PRELOGIN, end of message, length 47
    "00001a0006" "0100020001" "0200210001" "0300220004" "0400260001" "ff"  # option table
    "000000000000" "01" "00" "00000000" "00"  # VERSION, ENCRYPTION, INSTOPT, THREADID, MARS
)
TABULAR_RESULT = 0x04
END_OF_MESSAGE = 0x01

NEEDS = Needs(byte_in=bytes((TABULAR_RESULT,)))


def match(data: bytes) -> str | None:
    if len(data) >= 6 and data[0] == TABULAR_RESULT and data[1] == END_OF_MESSAGE:
        return "mssql"
    return None


HANDSHAKE = Handshake("mssql", "TDS PRELOGIN", False, constant(PROBE), match, NEEDS)
