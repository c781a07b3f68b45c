"""Each hard-case behaviour, seen from a client in a second namespace with plain sockets.

A NetnsLab pair: `client` 10.77.0.1 (and 10.77.0.3, fd77::1) and `server` 10.77.0.2
(fd77::2) on one veth link. Services run in the server through the services runner; the behaviour is installed
on the server; the test's own sockets are opened inside the client namespace with setns.
After each test the server must hold no rule tagged lzr-sim.
"""
import contextlib
import fcntl
import json
import random
import socket
import struct
import subprocess
import sys
import termios
import time

import pytest

from lzr_sim.behaviours import (AckingFirewall, Closed, Delay, Filtered, Loss, NeverAckData, ResetAfterHandshake,
                                Shun, Silent, SlowBanner, ZeroWindow, applied)
from lzr.runtime.netns import inside_netns
from lzr_sim.lab import NetnsLab
from waiting import wait_until

pytestmark = pytest.mark.netns

CLIENT, CLIENT_SECOND, SERVER = "10.77.0.1", "10.77.0.3", "10.77.0.2"
CLIENT6, SERVER6 = "fd77::1", "fd77::2"

@pytest.fixture
def pair():
    with NetnsLab() as lab:
        client, server = lab.add_host("cli"), lab.add_host("srv")
        client_if, server_if = lab.link(client, server, f"{CLIENT}/24", f"{SERVER}/24")
        client.cmd("ip", "addr", "add", f"{CLIENT_SECOND}/24", "dev", client_if)
        client.cmd("ip", "addr", "add", f"{CLIENT6}/64", "dev", client_if, "nodad")
        server.cmd("ip", "addr", "add", f"{SERVER6}/64", "dev", server_if, "nodad")
        yield client, server, client_if
        rules = server.cmd("iptables-save").stdout + server.cmd("ip6tables-save").stdout
        assert "lzr-sim:" not in rules


def serve(server, *entries):
    """Start the services runner in `server` with `entries`; it is stopped with the lab."""
    proc = server.popen(sys.executable, "-m", "lzr_sim.services.serve", "--spec-json", json.dumps(list(entries)),
                        stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("READY")
    return proc


def connect(address, port, timeout=3.0, source=None):
    conn = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    conn.settimeout(timeout)
    if source:
        conn.bind((source, 0))
    try:
        conn.connect((address, port))
    except BaseException:
        conn.close()
        raise
    return conn


def unacked_bytes(conn) -> int:
    """Bytes in the send queue not yet acknowledged by the peer (SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(conn.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]


def syn_ack_window(client_if, port, server=SERVER) -> int:
    """Connect to server:port and return the window of the SYN-ACK seen on the wire."""
    ipv6 = ":" in server
    capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD if ipv6 else 0x0800))
    with capture:
        capture.bind((client_if, 0))
        capture.settimeout(3)
        connect(server, port).close()
        while True:
            frame = capture.recv(65536)
            ip = frame[14:]
            if (ip[6] if ipv6 else ip[9]) != 6:
                continue
            tcp = ip[40:] if ipv6 else ip[(ip[0] & 0x0F) * 4:]
            source_port, window = struct.unpack_from(">H", tcp)[0], struct.unpack_from(">H", tcp, 14)[0]
            if source_port == port and tcp[13] & 0x12 == 0x12:  # SYN and ACK
                return window


def test_zero_window_syn_ack(pair):
    client, server, client_if = pair
    serve(server, {"port": 8080, "protocol": "http"}, {"port": 8081, "protocol": "http"})
    with applied(server, ZeroWindow(ports=(8080,))), inside_netns(client.netns):
        assert syn_ack_window(client_if, 8080) == 0
        assert syn_ack_window(client_if, 8081) > 0


def test_zero_window_ipv6(pair):
    client, server, client_if = pair
    serve(server, {"address": "::", "port": 8080, "protocol": "http"})
    with applied(server, ZeroWindow(ports=(8080,), ipv6=True)), inside_netns(client.netns):
        assert syn_ack_window(client_if, 8080, SERVER6) == 0


def test_zero_window_on_every_port_of_a_host(pair):
    client, server, client_if = pair
    with applied(server, ZeroWindow()), inside_netns(client.netns):
        for port in random.sample(range(1024, 65536), 2):
            assert syn_ack_window(client_if, port) == 0


def test_acking_firewall_accepts_everywhere_and_never_answers(pair):
    client, server, _ = pair
    serve(server, {"port": 8080, "protocol": "http"})
    with applied(server, AckingFirewall(exclude_ports=(8080,))), inside_netns(client.netns):
        for port in random.sample(range(1024, 65536), 3):
            with connect(SERVER, port, timeout=1.0) as conn:
                conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert wait_until(lambda: unacked_bytes(conn) == 0, 3), "data was not ACKed"
                with pytest.raises(TimeoutError):
                    conn.recv(100)
        with connect(SERVER, 8080) as conn:  # an excluded port still reaches its service
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.recv(100).startswith(b"HTTP/1.1 200")


def test_reset_after_handshake(pair):
    client, server, _ = pair
    with applied(server, ResetAfterHandshake(port=7000)), inside_netns(client.netns):
        with pytest.raises(ConnectionResetError):
            with connect(SERVER, 7000) as conn:
                conn.recv(100)  # waits (up to the socket's timeout) for the RST


@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4", "ipv6"])
def test_data_is_never_acked(pair, ipv6):
    client, server, _ = pair
    address, bind = (SERVER6, "::") if ipv6 else (SERVER, "0.0.0.0")
    serve(server, {"address": bind, "port": 8080, "protocol": "http"},
          {"address": bind, "port": 8081, "protocol": "http"})
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with applied(server, NeverAckData(port=8080, ipv6=ipv6)), inside_netns(client.netns):
        with connect(address, 8081) as control:  # the same request elsewhere is ACKed and answered
            control.sendall(request)
            assert control.recv(100).startswith(b"HTTP/1.1 200")
        with connect(address, 8080, timeout=1.5) as conn:
            conn.sendall(request)
            with pytest.raises(TimeoutError):
                conn.recv(100)
            assert unacked_bytes(conn) == len(request)


def test_silent_port_acks_data_and_never_answers(pair):
    client, server, _ = pair
    with applied(server, Silent(port=7001)), inside_netns(client.netns):
        with connect(SERVER, 7001, timeout=1.0) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert wait_until(lambda: unacked_bytes(conn) == 0, 3), "data was not ACKed"
            with pytest.raises(TimeoutError):
                conn.recv(100)


def test_closed_port_refuses_and_filtered_port_never_answers(pair):
    client, server, _ = pair
    with applied(server, Closed(port=7002), Filtered(port=7003)), inside_netns(client.netns):
        with pytest.raises(ConnectionRefusedError):
            connect(SERVER, 7002).close()
        with pytest.raises(TimeoutError):
            connect(SERVER, 7003, timeout=1.5).close()


def test_slow_banner(pair):
    client, server, _ = pair
    delay = 1.0
    with applied(server, SlowBanner(port=2222, protocol="ssh", delay=delay)), inside_netns(client.netns):
        with connect(SERVER, 2222, timeout=delay + 10) as conn:
            connected = time.monotonic()
            banner = conn.recv(100)
            waited = time.monotonic() - connected
    assert banner.startswith(b"SSH-2.0-")
    assert waited >= delay * 0.95  # the injected delay is a lower bound, not a timing claim


def test_shun_after_first_connection(pair):
    client, server, _ = pair
    serve(server, {"port": 8080, "protocol": "http"})
    with applied(server, Shun(port=8080)), inside_netns(client.netns):
        with connect(SERVER, 8080) as first:
            first.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert first.recv(100).startswith(b"HTTP/1.1 200")
        with pytest.raises(TimeoutError):
            connect(SERVER, 8080, timeout=1.5).close()
        connect(SERVER, 8080, source=CLIENT_SECOND).close()  # a fresh source is answered


def test_loss_rate_is_roughly_p(pair):
    client, server, _ = pair
    probability, count = 0.3, 400
    with inside_netns(server.netns):
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        receiver.bind((SERVER, 9999))
    with receiver:
        with inside_netns(client.netns), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"warm-up", (SERVER, 9999))  # resolves ARP before the count starts
            receiver.settimeout(3)
            receiver.recv(100)
            with applied(server, Loss(probability=probability)):
                for index in range(count):
                    sender.sendto(b"%d" % index, (SERVER, 9999))
                received = 0
                receiver.settimeout(0.5)
                with contextlib.suppress(TimeoutError):
                    while True:
                        receiver.recv(100)
                        received += 1
    lost = 1 - received / count
    # 400 trials: the standard deviation of the loss rate is 0.023; allow more than 4 of them.
    assert abs(lost - probability) < 0.1, lost


def test_delay_lengthens_round_trips(pair):
    client, server, _ = pair
    serve(server, {"port": 8080, "protocol": "http"})
    milliseconds = 200
    with applied(server, Delay(milliseconds=milliseconds)), inside_netns(client.netns):
        for _ in range(3):
            started = time.monotonic()
            connect(SERVER, 8080, timeout=10).close()
            assert time.monotonic() - started >= milliseconds / 1000 * 0.95
