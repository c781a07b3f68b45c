"""Niagara Fox server, imitating a Tridium Niagara AX station's hello (the Fox protocol as
documented by the Nmap `fox-info` script and Digital Bond's Redpoint research).

A Fox message is text: a command line "fox a <n> -1 fox hello", a brace-enclosed block of
"key=type:value" lines, and ";;". The station answers the client's hello with its own
("fox a 0 -1 fox hello") listing fox.version, hostName, hostAddress, app.name, app.version,
vm.*, os.*, station.name and brandId. Input that does not start like a Fox hello closes the
connection; after the hello the station waits for the client's authentication and closes
on anything else.

Options: `station` (default "Station_Building_A"), `host_name` (default "niagara-jace").
"""
from __future__ import annotations

from lzr_sim.services.base import ProtocolError, Service, read_line, send

MAX_HELLO_LINES = 64


class FoxService(Service):
    label = "fox"

    def hello(self, peer_address: str) -> bytes:
        fields = [
            ("fox.version", "s", "1.0.1"), ("id", "i", "2"),
            ("hostName", "s", self.options.get("host_name", "niagara-jace")),
            ("hostAddress", "s", peer_address), ("app.name", "s", "Station"),
            ("app.version", "s", "3.8.311"), ("vm.name", "s", "Java HotSpot(TM) Embedded Client VM"),
            ("vm.version", "s", "25.141-b06"), ("os.name", "s", "QNX"), ("os.version", "s", "6.5.0"),
            ("station.name", "s", self.options.get("station", "Station_Building_A")),
            ("lang", "s", "en"), ("timeZone", "s", "America/New_York;-18000000;3600000"),
            ("brandId", "s", "vykon"), ("authAgentTypeSpecs", "s", "fox:digest"),
        ]
        body = "".join(f"{key}={kind}:{value}\n" for key, kind, value in fields)
        return f"fox a 0 -1 fox hello\n{{\n{body}}};;\n".encode()

    async def serve(self, reader, writer):
        first = await read_line(reader, limit=256)
        if not (first.startswith(b"fox a ") and first.rstrip().endswith(b"fox hello")):
            return
        for _ in range(MAX_HELLO_LINES):
            if (await read_line(reader, limit=1024)).rstrip() == b"};;":
                break
        else:
            raise ProtocolError("hello without end")
        await send(writer, self.hello(writer.get_extra_info("sockname")[0]))
        while line := await read_line(reader, limit=1024):
            if not line.startswith((b"fox a ", b"{", b"}", b"\n")) and b"=" not in line:
                return
