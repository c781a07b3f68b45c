"""AJP13 CPing.

Apache JServ Protocol 1.3 (Apache Tomcat connectors, "AJPv13 protocol"): a packet from the
web server starts with magic 0x1234 and a 2-byte length; type 10 is CPing. The servlet
container answers CPong: magic `AB`, length 1, type 9.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex("1234" "0001" "0a")
CPONG = b"AB\x00\x01\x09"

NEEDS = Needs(byte_in=CPONG[:1])


def match(data: bytes) -> str | None:
    return "ajp13" if data.startswith(CPONG) else None


HANDSHAKE = Handshake("ajp13", "AJP13 CPing", False, constant(PROBE), match, NEEDS)
