"""ZooKeeper `srvr` four-letter word.

ZooKeeper answers four-letter commands on its client port (ZooKeeper Administrator's Guide,
"The Four Letter Words"); `srvr` is the one whitelisted by default since 3.5.3. The reply
starts `Zookeeper version:`; a server that whitelists nothing says the command `is not
executed because it is not in the whitelist`.
"""
from lzr.handshakes.base import Handshake, Needs, constant, contains

PROBE = b"srvr"


REFUSAL = b"is not executed because it is not in the whitelist"

NEEDS = Needs(byte_in=b"Z", substrings=(REFUSAL,))


def match(data: bytes) -> str | None:
    if data.startswith(b"Zookeeper version:") or contains(data, REFUSAL):
        return "zookeeper"
    return None


HANDSHAKE = Handshake(
    "zookeeper", "ZooKeeper srvr four-letter word", False, constant(PROBE), match, NEEDS
)
