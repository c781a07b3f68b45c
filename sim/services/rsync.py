"""rsync daemon, imitating `rsync --daemon` with password-protected modules (rsync(1)
"CONNECTING TO AN RSYNC DAEMON", rsyncd.conf(5) "auth users").

The daemon speaks first: "@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4" (protocol version and
checksum choices). The client answers with its own "@RSYNCD: <version>" line; anything else
gets "@ERROR: protocol startup error" and the connection closes. Then the client names a
module: an empty line or "#list" lists the modules and ends with "@RSYNCD: EXIT"; an
unknown module gets "@ERROR: Unknown module '<name>'"; a known one asks for authentication
("@RSYNCD: AUTHREQD <challenge>"), and since the scanner has no account the answer gets
"@ERROR: auth failed on module <name>".

Options: `modules` (name -> comment, default {"backup": "nightly backups"}).
"""
from __future__ import annotations

import base64
import os

from lzr_sim.services.base import Service, read_line, send

GREETING = b"@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4\n"


class RsyncService(Service):
    label = "rsync"
    speaks_first = True

    async def serve(self, reader, writer):
        modules = self.options.get("modules", {"backup": "nightly backups"})
        await send(writer, GREETING)
        client = await read_line(reader, limit=256)
        if not client.startswith(b"@RSYNCD: "):
            await send(writer, b"@ERROR: protocol startup error\n")
            return
        module = (await read_line(reader, limit=256)).strip().decode("utf-8", "replace")
        if module in ("", "#list"):
            listing = "".join(f"{name:<15}\t{comment}\n" for name, comment in modules.items())
            await send(writer, listing.encode() + b"@RSYNCD: EXIT\n")
            return
        if module not in modules:
            await send(writer, f"@ERROR: Unknown module '{module}'\n".encode())
            return
        challenge = base64.b64encode(os.urandom(16)).rstrip(b"=")
        await send(writer, b"@RSYNCD: AUTHREQD " + challenge + b"\n")
        if await read_line(reader, limit=512):
            await send(writer, f"@ERROR: auth failed on module {module}\n".encode())
