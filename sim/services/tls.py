"""HTTPS server: TLS (RFC 5246, RFC 8446) through Python's `ssl` with a self-signed
certificate, serving the http service's pages inside (most TLS services the LZR paper found
on unexpected ports are HTTPS).

The scanner's ClientHello offers TLS 1.2 only, so the server's first flight (ServerHello,
Certificate, ServerKeyExchange, ServerHelloDone) starts with the record header 16 03 03.
A plain-HTTP request gets nginx's "400 The plain HTTP request was sent to HTTPS port" (see
tlsconn.py); any other peer that is not speaking TLS fails the handshake in OpenSSL and is
disconnected, as OpenSSL-based servers do.

Options: `common_name` of the certificate (default "localhost"), plus the http service's.
"""
from __future__ import annotations


from lzr_sim.services import certs
from lzr_sim.services.http import HttpService, serve_http
from lzr_sim.services.httpmsg import http_date
from lzr_sim.services.tlsconn import serve_tls


def nginx_plain_http_answer(server: str) -> bytes:
    body = ("<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n"
            "<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n"
            "<center>The plain HTTP request was sent to HTTPS port</center>\r\n"
            f"<hr><center>{server}</center>\r\n</body>\r\n</html>\r\n").encode()
    head = (f"HTTP/1.1 400 Bad Request\r\nServer: {server}\r\nDate: {http_date()}\r\n"
            f"Content-Type: text/html\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


class TlsService(HttpService):
    label = "tls"
    uses_tls = True

    def certificate(self):
        return certs.certificate(self.options.get("common_name", "localhost"))

    async def serve(self, reader, writer):
        await serve_tls(reader, writer, self.ssl_context(), nginx_plain_http_answer(self.server),
                        lambda plain, tls_writer: serve_http(plain, tls_writer, self.handle, self.server))
