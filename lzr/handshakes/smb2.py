"""SMB2 NEGOTIATE, a well-formed SMB probe.

LZR's `smb` probe is not a valid SMB1 message (its header is 7 bytes short), and Samba drops
it: `init_smb1_request: invalid wct number 77`. This probe is an SMB2 NEGOTIATE request
(MS-SMB2 §2.2.3) in a NetBIOS session message (RFC 1002 §4.3.1): the 64-byte SMB2 header
(§2.2.1.2), signing enabled, our client GUID, dialects 2.0.2, 2.1, 3.0 and 3.0.2 (3.1.1 would
need negotiate contexts). The reply starts `\\xfeSMB`, which LZR's smb rule already names,
so this handshake has no rule of its own.
"""
import struct

from lzr.handshakes.base import Handshake, constant, never

DIALECTS = (0x0202, 0x0210, 0x0300, 0x0302)
CLIENT_GUID = b"lzr-smb2-client!"

HEADER = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, bytes(16))
NEGOTIATE = (
    struct.pack("<HHHHI16sQ", 36, len(DIALECTS), 1, 0, 0, CLIENT_GUID, 0)
    + b"".join(struct.pack("<H", dialect) for dialect in DIALECTS)
)
PROBE = struct.pack(">I", len(HEADER) + len(NEGOTIATE)) + HEADER + NEGOTIATE

HANDSHAKE = Handshake(
    "smb2", "SMB2 NEGOTIATE (named by the smb rule)", False, constant(PROBE), never
)
