"""XMPP server's client stream, imitating Prosody (RFC 6120: §4.7 stream attributes, §4.8
namespaces, §4.9 stream errors, §4.3.2 stream features).

The client opens a stream with `<stream:stream to='domain' ...>`. The server answers with
its own stream header (declaring the streams namespace) and then: if `to` is a domain it
serves, the stream features (STARTTLS required, SASL mechanisms); otherwise the stream
error host-unknown and the closing tag, as Prosody answers a client that connects by IP
address. Input that is not an XML stream header gets the header followed by the
not-well-formed stream error (§4.9.3.13). Either error ends the connection.

Options: `domain` (default "lzr_sim.test").
"""
from __future__ import annotations

import os
import re

from lzr_sim.services.base import Service, send

STREAMS = "http://etherx.jabber.org/streams"
TO_ATTRIBUTE = re.compile(rb"""\bto=(['"])([^'"]*)\1""")
MAX_HEADER = 4096


def stream_error(condition: str) -> bytes:
    return (f"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
            "</stream:stream>").encode()


def has_stream_header(data: bytes) -> bool:
    start = data.find(b"<stream:stream")
    return start >= 0 and b">" in data[start:]


class XmppService(Service):
    label = "xmpp"

    async def serve(self, reader, writer):
        domain = self.options.get("domain", "lzr_sim.test")
        received = b""
        while not has_stream_header(received):
            chunk = await reader.read(1024)
            received += chunk
            stripped = received.lstrip()
            if not chunk or len(received) > MAX_HEADER or (stripped and not stripped.startswith(b"<")):
                break
        if not received:
            return
        header = (f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='{STREAMS}' "
                  f"id='{os.urandom(8).hex()}' from='{domain}' version='1.0' xml:lang='en'>").encode()
        if not has_stream_header(received):
            await send(writer, header + stream_error("not-well-formed"))
            return
        found = TO_ATTRIBUTE.search(received)
        if found is None or found.group(2).decode("utf-8", "replace").lower() != domain:
            await send(writer, header + stream_error("host-unknown"))
            return
        features = ("<stream:features>"
                    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
                    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>"
                    "<mechanism>PLAIN</mechanism></mechanisms></stream:features>").encode()
        await send(writer, header + features)
        while await reader.read(65536):  # the client would now start TLS; this simulator stops here
            pass
