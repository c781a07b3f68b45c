"""SMB1 NEGOTIATE offering `NT LM 0.12`.

LZR's 43 bytes: NetBIOS session header (length 39) and an SMB1 header with command 0x72
(MS-CIFS §2.2.4.52), then the dialect buffer. LZR's header is shorter than MS-CIFS's 32 bytes
(20 zero bytes follow the command, and the byte count says 14); we send it byte-exact. Any
reply that says `SMB` (SMB1 `\\xffSMB` or SMB2 `\\xfeSMB`) names it
(docs/lzr-reference.md §3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = (
    bytes.fromhex("00000027" "ff534d42" "72")
    + bytes(20)
    + bytes.fromhex("0e00" "02") + b"NT LM 0.12\x00"
)

NEEDS = Needs(substrings=(b"SMB",))


def match(data: bytes) -> str | None:
    return "smb" if contains(data, b"SMB") else None


HANDSHAKE = Handshake("smb", "SMB1 NEGOTIATE (NT LM 0.12)", False, constant(PROBE), match, NEEDS)
