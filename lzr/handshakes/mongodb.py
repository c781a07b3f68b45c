"""MongoDB isMaster.

LZR's 58-byte OP_QUERY on `admin.$cmd` with `{isMaster: 1}` (docs/lzr-reference.md
§3.3; MongoDB wire protocol, OP_QUERY, opcode 2004). The reply document carries
`maxBsonObjectSize`, which is LZR's rule (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = bytes.fromhex(
    "3a000000" "00000000" "00000000" "d4070000"  # length 58, request id, response to, opcode
    "00000000"  # flags
    + b"admin.$cmd\x00".hex()
    + "00000000" "01000000"  # number to skip, number to return
    "13000000" "10" + b"isMaster\x00".hex() + "01000000" "00"  # {isMaster: int32 1}
)

NEEDS = Needs(substrings=(b"maxBsonObjectSize", b"MongoDB"))


def match(data: bytes) -> str | None:
    return "mongodb" if contains(data, b"maxBsonObjectSize", b"MongoDB") else None


HANDSHAKE = Handshake("mongodb", "MongoDB OP_QUERY isMaster", False, constant(PROBE), match, NEEDS)
