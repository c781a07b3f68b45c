"""OPC UA binary Hello.

The Hello message of OPC UA's TCP mapping (OPC 10000-6 §7.1.2.3): `HEL`, chunk type `F`,
the message size, protocol version 0, 64 KiB send and receive buffers, no message or chunk
limit, and the endpoint URL `opc.tcp://<target>`. A server answers Acknowledge (`ACKF`) or,
if it dislikes the URL or anything else, Error (`ERRF`) with a status code and reason
(§7.1.2.4, §7.1.2.5); both carry their size after the four bytes of type.
"""
import struct
from random import Random

from lzr.handshakes.base import Handshake, Needs, host_text

ANSWERS = (b"ACKF", b"ERRF")


def probe(target: str, rng: Random | None = None) -> bytes:
    url = f"opc.tcp://{host_text(target)}".encode("ascii")
    body = struct.pack("<IIIII", 0, 65536, 65536, 0, 0) + struct.pack("<i", len(url)) + url
    return b"HELF" + struct.pack("<I", 8 + len(body)) + body


NEEDS = Needs(byte_in=bytes(answer[0] for answer in ANSWERS))


def match(data: bytes) -> str | None:
    if data.startswith(ANSWERS) and len(data) >= 8 and int.from_bytes(data[4:8], "little") >= 8:
        return "opcua"
    return None


HANDSHAKE = Handshake("opcua", "OPC UA binary Hello", False, probe, match, NEEDS)
