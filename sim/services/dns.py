"""DNS over TCP, imitating a recursive resolver such as dnsmasq or Unbound (RFC 1035
§4.1-4.2.2, RFC 7766; AAAA from RFC 3596).

Each message is prefixed by its two-byte length. A standard query with one question is
answered with the question echoed and, for class IN, an A or AAAA record from the `records`
option, or else the default address (every name resolves, as behind a resolver with a
wildcard); other types get an empty NOERROR answer. Other opcodes get NOTIMP; a header or
question that does not parse gets FORMERR. The connection stays open for further queries.

Options: `address` (default "192.0.2.1"), `address6` (default "2001:db8::1"), `records`
(name -> IPv4 or IPv6 address text), `ttl` (default 300).
"""
from __future__ import annotations

import ipaddress
import struct

from lzr_sim.services.base import Service, read_exactly, read_exactly_or_eof, send

TYPE_A, TYPE_AAAA, CLASS_IN = 1, 28, 1
RCODE_FORMERR, RCODE_NOTIMP = 1, 4
HEADER = struct.Struct(">HHHHHH")  # id flags qdcount ancount nscount arcount
FLAG_QR, FLAG_RD, FLAG_RA = 0x8000, 0x0100, 0x0080


class FormatError(ValueError):
    """The query does not parse."""


def parse_question(message: bytes) -> tuple[str, int, int, int]:
    """(name, qtype, qclass, end offset) of the question right after the header."""
    labels, offset = [], HEADER.size
    while True:
        if offset >= len(message):
            raise FormatError("truncated name")
        length = message[offset]
        offset += 1
        if length == 0:
            break
        if length > 63 or offset + length > len(message):
            raise FormatError("bad label")  # compression pointers cannot start a question name
        labels.append(message[offset:offset + length].decode("ascii", "replace"))
        offset += length
    if offset + 4 > len(message):
        raise FormatError("truncated question")
    qtype, qclass = struct.unpack_from(">HH", message, offset)
    return ".".join(labels), qtype, qclass, offset + 4


class DnsService(Service):
    label = "dns"

    def __init__(self, **options):
        super().__init__(**options)
        self.records = {name.lower().rstrip("."): ipaddress.ip_address(value)
                        for name, value in options.get("records", {}).items()}
        self.default4 = ipaddress.IPv4Address(options.get("address", "192.0.2.1"))
        self.default6 = ipaddress.IPv6Address(options.get("address6", "2001:db8::1"))
        self.ttl = int(options.get("ttl", 300))

    def lookup(self, name: str, qtype: int) -> bytes | None:
        """The RDATA answering (name, qtype), or None for no record of that type."""
        family = {TYPE_A: ipaddress.IPv4Address, TYPE_AAAA: ipaddress.IPv6Address}.get(qtype)
        if family is None:
            return None
        address = self.records.get(name.lower())
        if address is None:
            address = self.default4 if qtype == TYPE_A else self.default6
        return address.packed if isinstance(address, family) else None

    def answer(self, message: bytes) -> bytes:
        query_id, flags = struct.unpack_from(">HH", message)
        reply_flags = FLAG_QR | FLAG_RA | (flags & FLAG_RD) | (flags & 0x7800)  # keep the opcode
        opcode = (flags >> 11) & 0xF
        if opcode != 0:
            return HEADER.pack(query_id, reply_flags | RCODE_NOTIMP, 0, 0, 0, 0)
        try:
            if HEADER.unpack_from(message)[2] != 1:
                raise FormatError("one question expected")
            name, qtype, qclass, end = parse_question(message)
        except FormatError:
            return HEADER.pack(query_id, reply_flags | RCODE_FORMERR, 0, 0, 0, 0)
        question = message[HEADER.size:end]
        rdata = self.lookup(name, qtype) if qclass == CLASS_IN else None
        if rdata is None:
            return HEADER.pack(query_id, reply_flags, 1, 0, 0, 0) + question
        record = b"\xc0\x0c" + struct.pack(">HHIH", qtype, qclass, self.ttl, len(rdata)) + rdata
        return HEADER.pack(query_id, reply_flags, 1, 1, 0, 0) + question + record

    async def serve(self, reader, writer):
        while length_bytes := await read_exactly_or_eof(reader, 2):
            length, = struct.unpack(">H", length_bytes)
            message = await read_exactly(reader, length)
            if len(message) < HEADER.size:
                return  # not even a header: nothing to answer, resolvers drop the connection
            reply = self.answer(message)
            await send(writer, struct.pack(">H", len(reply)) + reply)
