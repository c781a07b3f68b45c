"""HTTPS server: TLS (RFC 5246, RFC 8446) through Python's `ssl` with a self-signed
certificate, serving the http service's pages inside (most TLS services the LZR paper found
on unexpected ports are HTTPS).

The scanner's ClientHello offers TLS 1.2 only, so the server's first flight (ServerHello,
Certificate, ServerKeyExchange, ServerHelloDone) starts with the record header 16 03 03.
A peer that is not speaking TLS fails the handshake and is disconnected, as OpenSSL-based
servers do.

Options: `common_name` of the certificate (default "localhost"), plus the http service's.
"""
from __future__ import annotations

import ssl

from sim.services import certs
from sim.services.http import HttpService


def server_context(cert_and_key: tuple[str, str]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert_and_key)
    return context


class TlsService(HttpService):
    label = "tls"
    uses_tls = True

    def ssl_context(self):
        return server_context(certs.certificate(self.options.get("common_name", "localhost")))
