"""LDAP rootDSE search.

An anonymous search for the root DSE (RFC 4512 §5.1): LDAPMessage (RFC 4511 §4.1.1, BER)
with message id 1 and a SearchRequest (§4.5.1) for base object "", scope base, no alias
dereferencing, no limits, filter `(objectClass=*)`, no attributes listed. The server answers
with SearchResultEntry and SearchResultDone for message 1, or with a Notice of
Disconnection (an ExtendedResponse with message id 0, §4.4.1) when it refuses.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex(
    "3025"  # LDAPMessage SEQUENCE, 37 bytes
    "020101"  # messageID 1
    "6320"  # [APPLICATION 3] SearchRequest, 32 bytes
    "0400"  # baseObject ""
    "0a0100"  # scope baseObject
    "0a0100"  # derefAliases neverDerefAliases
    "020100" "020100"  # sizeLimit 0, timeLimit 0
    "010100"  # typesOnly FALSE
    "870b" + b"objectClass".hex() +  # filter: present objectClass
    "3000"  # attributes: none
)

SEQUENCE = 0x30
REPLIES = {b"\x02\x01\x01": (0x64, 0x65), b"\x02\x01\x00": (0x78,)}  # by message id

NEEDS = Needs(byte_in=bytes((SEQUENCE,)))


def match(data: bytes) -> str | None:
    if len(data) < 7 or data[0] != SEQUENCE:
        return None
    # BER length: short form, or 0x81-0x84 followed by that many length bytes.
    length_byte = data[1]
    if length_byte > 0x84 or length_byte == 0x80:
        return None
    start = 2 if length_byte < 0x80 else 2 + (length_byte - 0x80)
    operations = REPLIES.get(data[start:start + 3])
    if operations and len(data) > start + 3 and data[start + 3] in operations:
        return "ldap"
    return None


HANDSHAKE = Handshake("ldap", "LDAP anonymous rootDSE search", False, constant(PROBE), match, NEEDS)
