"""LDAP server, imitating OpenLDAP's slapd to an anonymous client (RFC 4511: §4.1.1
LDAPMessage, §4.2 Bind, §4.4.1 Notice of Disconnection, §4.5 Search; RFC 4512 §5.1 root
DSE; BER per X.690).

Messages are BER-encoded LDAPMessage sequences. An anonymous simple bind succeeds and a
bind with a name fails with invalidCredentials (49). A base-scope search of the empty DN
(the root DSE) returns one entry with namingContexts, supportedLDAPVersion,
supportedSASLMechanisms and subschemaSubentry, then SearchResultDone success; other
searches end in noSuchObject (32). Unbind closes. Other operations get unwillingToPerform
(53). A message that is not a BER LDAPMessage gets the Notice of Disconnection
(protocolError) and the connection is closed.

Options: `base_dn` (default "dc=sim,dc=test").
"""
from __future__ import annotations

from lzr_sim.services.base import ProtocolError, Service, read_exactly, read_exactly_or_eof, send

SEQUENCE, SET, INTEGER, OCTET_STRING, ENUMERATED = 0x30, 0x31, 0x02, 0x04, 0x0A
BIND_REQUEST, BIND_RESPONSE, UNBIND_REQUEST = 0x60, 0x61, 0x42
SEARCH_REQUEST, SEARCH_ENTRY, SEARCH_DONE, EXTENDED_RESPONSE = 0x63, 0x64, 0x65, 0x78
SUCCESS, PROTOCOL_ERROR, NO_SUCH_OBJECT, INVALID_CREDENTIALS, UNWILLING = 0, 2, 32, 49, 53
NOTICE_OF_DISCONNECTION = b"1.3.6.1.4.1.1466.20036"
RESPONSE_NAME_TAG = 0x8A
MAX_MESSAGE = 1 << 20
# The response operation for each request operation we answer with a plain LDAPResult.
RESULT_FOR = {BIND_REQUEST: BIND_RESPONSE, SEARCH_REQUEST: SEARCH_DONE, 0x66: 0x67, 0x68: 0x69,
              0x4A: 0x6B, 0x6C: 0x6D, 0x6E: 0x6F, 0x77: EXTENDED_RESPONSE}


def tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def integer(value: int) -> bytes:
    return tlv(INTEGER, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def elements(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) elements of a BER encoding, one level deep."""
    found, offset = [], 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise ProtocolError("truncated BER element")
        tag, length = data[offset], data[offset + 1]
        offset += 2
        if length & 0x80:
            size = length & 0x7F
            if not 1 <= size <= 4 or offset + size > len(data):
                raise ProtocolError("bad BER length")
            length = int.from_bytes(data[offset:offset + size], "big")
            offset += size
        if offset + length > len(data):
            raise ProtocolError("BER element overruns its container")
        found.append((tag, data[offset:offset + length]))
        offset += length
    return found


def result(message_id: int, operation: int, code: int, text: str = "", extra: bytes = b"") -> bytes:
    body = tlv(ENUMERATED, bytes([code])) + tlv(OCTET_STRING, b"") + tlv(OCTET_STRING, text.encode()) + extra
    return tlv(SEQUENCE, integer(message_id) + tlv(operation, body))


async def read_message(reader) -> bytes | None:
    """One LDAPMessage's content, or None at EOF; anything else raises ProtocolError."""
    first = await read_exactly_or_eof(reader, 2)
    if not first:
        return None
    if first[0] != SEQUENCE:
        raise ProtocolError("not an LDAPMessage")
    length = first[1]
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4:
            raise ProtocolError("bad BER length")
        length = int.from_bytes(await read_exactly(reader, size), "big")
    if length > MAX_MESSAGE:
        raise ProtocolError("message too large")
    return await read_exactly(reader, length)


class LdapService(Service):
    label = "ldap"

    def root_dse(self, message_id: int) -> bytes:
        base = self.options.get("base_dn", "dc=sim,dc=test")
        attributes = [("objectClass", ["top", "OpenLDAProotDSE"]), ("namingContexts", [base]),
                      ("subschemaSubentry", ["cn=Subschema"]), ("supportedLDAPVersion", ["3"]),
                      ("supportedSASLMechanisms", ["SCRAM-SHA-256", "EXTERNAL"])]
        encoded = b"".join(tlv(SEQUENCE, tlv(OCTET_STRING, name.encode())
                                + tlv(SET, b"".join(tlv(OCTET_STRING, value.encode()) for value in values)))
                           for name, values in attributes)
        entry_body = tlv(OCTET_STRING, b"") + tlv(SEQUENCE, encoded)  # the empty DN, then attributes
        entry = tlv(SEQUENCE, integer(message_id) + tlv(SEARCH_ENTRY, entry_body))
        return entry + result(message_id, SEARCH_DONE, SUCCESS)

    def answer(self, message: bytes) -> bytes | None:
        """The reply to one LDAPMessage's content; None for unbind."""
        parts = elements(message)
        if len(parts) < 2 or parts[0][0] != INTEGER:
            raise ProtocolError("LDAPMessage without a message id")
        message_id = int.from_bytes(parts[0][1], "big")
        operation, body = parts[1]
        if operation == UNBIND_REQUEST:
            return None
        if operation == BIND_REQUEST:
            fields = elements(body)
            anonymous = len(fields) >= 2 and fields[1][1] == b""
            return result(message_id, BIND_RESPONSE, SUCCESS if anonymous else INVALID_CREDENTIALS)
        if operation == SEARCH_REQUEST:
            fields = elements(body)
            if len(fields) >= 2 and fields[0] == (OCTET_STRING, b"") and fields[1][1] == b"\x00":
                return self.root_dse(message_id)
            return result(message_id, SEARCH_DONE, NO_SUCH_OBJECT)
        if operation in RESULT_FOR:
            return result(message_id, RESULT_FOR[operation], UNWILLING, "operation not supported")
        raise ProtocolError("unknown LDAP operation")

    async def serve(self, reader, writer):
        while True:
            try:
                message = await read_message(reader)
                if message is None:
                    return
                reply = self.answer(message)
            except ProtocolError:
                await send(writer, result(0, EXTENDED_RESPONSE, PROTOCOL_ERROR, "decoding error",
                                          tlv(RESPONSE_NAME_TAG, NOTICE_OF_DISCONNECTION)))
                return
            if reply is None:
                return
            await send(writer, reply)
