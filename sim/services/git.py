"""git daemon, imitating `git daemon` serving a few exported repositories over git://
(gitprotocol-pack(5) "Git Transport", gitprotocol-common(5) pkt-line format).

The client's first pkt-line is "git-upload-pack <path>\\0host=<host>\\0". For an exported
repository the daemon starts the reference advertisement: "<object id> HEAD\\0<capabilities>"
and "<object id> refs/heads/main", then a flush packet; for any other path it answers
"ERR access denied or repository not exported: <path>" and closes. A first line that is not
a valid pkt-line, or asks for another service, closes the connection without an answer.

Options: `repositories` (exported paths, default ["/project.git"]).
"""
from __future__ import annotations

import hashlib

from lzr_sim.services.base import Service, read_exactly, send

CAPABILITIES = (b"multi_ack thin-pack side-band side-band-64k ofs-delta shallow deepen-since "
                b"deepen-not deepen-relative no-progress include-tag multi_ack_detailed "
                b"symref=HEAD:refs/heads/main object-format=sha1 agent=git/2.39.2")
FLUSH = b"0000"


def pkt_line(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


class GitService(Service):
    label = "git"

    async def serve(self, reader, writer):
        length_text = await read_exactly(reader, 4)
        try:
            length = int(length_text, 16)
        except ValueError:
            return
        if not 4 < length <= 65520:
            return
        request = (await read_exactly(reader, length - 4)).split(b"\x00")[0]
        service, _, path = request.partition(b" ")
        if service not in (b"git-upload-pack", b"git-upload-archive", b"git-receive-pack") or not path:
            return
        exported = {name.encode() for name in self.options.get("repositories", ["/project.git"])}
        if service != b"git-upload-pack" or path not in exported:
            await send(writer, pkt_line(b"ERR access denied or repository not exported: " + path))
            return
        head = hashlib.sha1(b"commit of " + path).hexdigest().encode()
        await send(writer, pkt_line(head + b" HEAD\x00" + CAPABILITIES + b"\n")
                   + pkt_line(head + b" refs/heads/main\n") + FLUSH)
        while await reader.read(65536):  # the client's wants; this simulator sends no pack
            pass
