"""Erlang port mapper (EPMD) NAMES_REQ.

The NAMES_REQ of the Erlang distribution protocol (Erlang/OTP documentation, "Distribution
Protocol", EPMD Protocol): a 2-byte length and `n` (110). EPMD answers with its own port
number as 4 bytes, then one `name <node> at port <port>` line per registered node (RabbitMQ,
CouchDB, ejabberd...), and closes.
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = b"\x00\x01n"
DEFAULT_PORT = (4369).to_bytes(4, "big")

NEEDS = Needs(byte_in=b"\x00")


def match(data: bytes) -> str | None:
    # The port fits in two bytes, so the first two are zero. An empty node list leaves only
    # the port: trust that when it is EPMD's usual one.
    if (data[:2] == b"\x00\x00" and data[4:9] == b"name ") or data == DEFAULT_PORT:
        return "epmd"
    return None


HANDSHAKE = Handshake("epmd", "Erlang port mapper NAMES_REQ", False, constant(PROBE), match, NEEDS)
