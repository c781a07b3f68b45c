"""`make demo` before the simulator: a small real scan between two namespaces it makes and removes.

A target namespace runs real services on non-standard ports (Python's http.server on 8081, an
SSH banner on 2222, TLS with a freshly generated self-signed certificate on 8443), plus a
closed port (9) and a silent one (7777, dropped by iptables in the target namespace). A
scanner namespace, linked only to the target, runs

    lzr -sendSYNs -handshakes wait,http,tls --allow-reserved ...

against them and the demo prints the records and the summary. The same services back the
scanner's network tests (`TargetServices`).

    python -m lzr_sim.demo            # the demo
    python -m lzr_sim.demo serve ...  # (internal) the services, run inside the target namespace
"""
from __future__ import annotations

import argparse
import http.server
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from lzr_sim.lab import Host, NetnsLab

HTTP_PORT, TLS_PORT, SSH_PORT = 8081, 8443, 2222
CLOSED_PORT, SILENT_PORT = 9, 7777
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"


# -- the services (run inside the target namespace) ---------------------------------------------

class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body><h1>lzr demo</h1></body></html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class _Banner(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(SSH_BANNER)
        self.request.settimeout(5)
        try:
            self.request.recv(1024)
        except OSError:
            pass


def _server(cls, family: int, port: int, handler):
    class Server(cls):
        address_family = family
        allow_reuse_address = True
        daemon_threads = True

        def handle_error(self, request, client_address) -> None:
            pass    # scanners reset connections and send the wrong protocol: that is the point
    return Server(("::" if family == socket.AF_INET6 else "0.0.0.0", port), handler)


def serve(family: int, cert_dir: str) -> None:
    """HTTP, TLS (HTTP inside) and the SSH banner until killed; prints 'ready' once listening."""
    http_server = _server(socketserver.ThreadingTCPServer, family, HTTP_PORT, _Page)
    tls_server = _server(socketserver.ThreadingTCPServer, family, TLS_PORT, _Page)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(cert_dir, "cert.pem"), os.path.join(cert_dir, "key.pem"))
    tls_server.socket = context.wrap_socket(tls_server.socket, server_side=True,
                                            do_handshake_on_connect=False)
    ssh_server = _server(socketserver.ThreadingTCPServer, family, SSH_PORT, _Banner)
    for server in (http_server, tls_server, ssh_server):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def make_certificate(directory: str) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=lzr-demo", "-keyout", os.path.join(directory, "key.pem"),
                    "-out", os.path.join(directory, "cert.pem")],
                   check=True, capture_output=True)


class TargetServices:
    """The demo's services in `host`, with the silent port's DROP rule; stopped by the lab."""

    def __init__(self, host: Host, ipv6: bool = False) -> None:
        self.host = host
        self.ipv6 = ipv6
        self._certs = tempfile.TemporaryDirectory(prefix="lzr-demo-")

    def __enter__(self) -> "TargetServices":
        make_certificate(self._certs.name)
        iptables = "ip6tables" if self.ipv6 else "iptables"
        # Rules live in the target namespace, so they vanish with it.
        self.host.cmd(iptables, "-A", "INPUT", "-p", "tcp", "--dport", str(SILENT_PORT), "-j", "DROP")
        self.process = self.host.popen(sys.executable, "-m", "lzr_sim.demo", "serve",
                                       "--ipv6" if self.ipv6 else "--ipv4", self._certs.name,
                                       stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the demo services did not start")
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        self.process.wait()
        self._certs.cleanup()


# -- the demo -----------------------------------------------------------------------------------

def demo() -> int:
    if os.geteuid() != 0:
        print("make demo needs root (namespaces, raw sockets): run it with sudo", file=sys.stderr)
        return 1
    lzr = [sys.executable, "-m", "lzr.cli"]
    with NetnsLab() as lab:
        scanner, target = lab.add_host("scan"), lab.add_host("tgt")
        scan_if, _ = lab.link(scanner, target, "10.231.0.1/24", "10.231.0.2/24")
        target_ip = target.address()
        with TargetServices(target):
            lines = "".join(f"{target_ip};{port}\n" for port in
                            (HTTP_PORT, TLS_PORT, SSH_PORT, CLOSED_PORT, SILENT_PORT))
            command = [*lzr, "-sendSYNs", "-handshakes", "wait,http,tls", "--allow-reserved",
                       "-sendInterface", scan_if, "-f", "-", "-t", "2", "-rt", "1", "-c", "1",
                       "-w", "2", "--quiet"]
            print(f"target {target_ip}: http {HTTP_PORT}, tls {TLS_PORT}, ssh {SSH_PORT}, "
                  f"closed {CLOSED_PORT}, silent {SILENT_PORT}")
            print("$ " + " ".join(["lzr", *command[3:]]) + " <<< targets")
            started = time.monotonic()
            result = subprocess.run(["ip", "netns", "exec", scanner.netns, *command],
                                    input=lines, capture_output=True, text=True)
            print(result.stdout, end="")
            print(result.stderr, end="", file=sys.stderr)
            print(f"(scan took {time.monotonic() - started:.1f} s)")
            return result.returncode


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "serve":
        parser = argparse.ArgumentParser(prog="python -m lzr_sim.demo serve")
        parser.add_argument("--ipv6", dest="family", action="store_const", const=socket.AF_INET6,
                            default=socket.AF_INET)
        parser.add_argument("--ipv4", dest="family", action="store_const", const=socket.AF_INET)
        parser.add_argument("cert_dir")
        args = parser.parse_args(argv[1:])
        serve(args.family, args.cert_dir)
        return 0
    return demo()


if __name__ == "__main__":
    sys.exit(main())
