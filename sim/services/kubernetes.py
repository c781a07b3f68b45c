"""Kubernetes API server (kube-apiserver) as an anonymous client meets it.

Its certificate is the one kubeadm makes: CN=kube-apiserver, signed by the cluster CA whose
name is "kubernetes", with the SANs kubernetes, kubernetes.default, ... . The scanner's
kubernetes rule looks for "kubernetes" in the first data it gets back, which is the
cleartext TLS 1.2 server flight carrying that certificate; the CA name sits in its issuer
field, within the first few hundred bytes.

A plain-HTTP request gets Go's "Client sent an HTTP request to an HTTPS server." (see
tlsconn.py). Inside TLS it answers like the API server's HTTP layer: the paths any anonymous user may
read (/version, /healthz, /livez, /readyz) answer 200; everything else answers 403 with a
JSON `Status` object.
"""
from __future__ import annotations

import json
import uuid

from lzr_sim.services import certs
from lzr_sim.services.http import serve_http
from lzr_sim.services.httpmsg import Request, http_date, response
from lzr_sim.services.base import Service
from lzr_sim.services.tlsconn import serve_tls

DNS_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local")
PUBLIC_PATHS = {"/healthz": b"ok", "/livez": b"ok", "/readyz": b"ok"}
GO_PLAIN_HTTP_ANSWER = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
VERSION = {"major": "1", "minor": "29", "gitVersion": "v1.29.2", "platform": "linux/amd64"}


class KubernetesService(Service):
    label = "kubernetes"
    uses_tls = True

    def certificate(self):
        return certs.certificate("kube-apiserver", issuer="kubernetes", dns_names=DNS_NAMES)

    async def handle(self, request: Request) -> bytes:
        headers = [("Audit-Id", str(uuid.uuid4())), ("Cache-Control", "no-cache, private"),
                   ("Date", http_date())]
        path = request.target.split("?")[0]
        if request.method == "GET" and path == "/version":
            body = json.dumps(VERSION, indent=2).encode()
            return response("HTTP/1.1", 200, "OK", headers + [("Content-Type", "application/json")], body)
        if request.method == "GET" and path in PUBLIC_PATHS:
            return response("HTTP/1.1", 200, "OK", headers + [("Content-Type", "text/plain")],
                            PUBLIC_PATHS[path])
        status = {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f'forbidden: User "system:anonymous" cannot {request.method.lower()} path "{path}"',
            "reason": "Forbidden", "details": {}, "code": 403,
        }
        return response("HTTP/1.1", 403, "Forbidden",
                        headers + [("Content-Type", "application/json")], json.dumps(status).encode())

    async def serve(self, reader, writer):
        await serve_tls(reader, writer, self.ssl_context(), GO_PLAIN_HTTP_ANSWER,
                        lambda plain, tls_writer: serve_http(plain, tls_writer, self.handle,
                                                             "kube-apiserver"))
