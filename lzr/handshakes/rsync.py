"""rsync daemon greeting (server-first).

An rsync daemon speaks first with `@RSYNCD: <protocol>.<sub>` and a newline (rsync(1),
"CONNECTING TO AN RSYNC DAEMON"; rsyncd.conf(5)), before the client says anything.
"""
from lzr.handshakes.base import Handshake, Needs, constant

NEEDS = Needs(byte_in=b"@")


def match(data: bytes) -> str | None:
    return "rsync" if data.startswith(b"@RSYNCD: ") else None


HANDSHAKE = Handshake(
    "rsync", "wait for an rsync daemon greeting", True, constant(b""), match, NEEDS
)
