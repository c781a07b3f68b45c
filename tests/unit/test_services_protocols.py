"""The services speak their protocols beyond the scanner's first probe: they parse what
they get and answer what a real server would (each test names the behaviour it checks)."""
import json
import socket
import ssl
import struct
import subprocess
import sys
import tempfile

import pytest

from lzr_sim.services.dnp3 import crc16_dnp

LOOPBACK = "127.0.0.1"
SPEC = [
    {"protocol": "dns", "options": {"records": {"www.sim.test": "198.51.100.7",
                                                "v6.sim.test": "2001:db8::7"}}},
    {"protocol": "redis"}, {"protocol": "smtp"}, {"protocol": "http"}, {"protocol": "mqtt"},
    {"protocol": "postgres"}, {"protocol": "memcached_ascii"}, {"protocol": "kubernetes"},
    {"protocol": "modbus"}, {"protocol": "socks5"}, {"protocol": "rsync"}, {"protocol": "sip"},
    {"protocol": "zookeeper"}, {"protocol": "ldap"}, {"protocol": "dnp3", "options": {"address": 7}},
    {"protocol": "tls"}, {"protocol": "epmd", "options": {"nodes": {"couchdb": 9100}}},
    {"protocol": "stomp", "options": {"users": {"scanner": "secret"}}}, {"protocol": "iec104"},
    {"protocol": "opcua"},
]


@pytest.fixture(scope="module")
def ports():
    spec = [dict(entry, address=LOOPBACK, port=0) for entry in SPEC]
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen([sys.executable, "-m", "lzr_sim.services.serve", "--spec-json", json.dumps(spec)],
                                stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            ready = proc.stdout.readline().split()
            assert ready[:2] == ["READY", str(len(spec))]
            yield {entry["protocol"]: int(port) for entry, port in zip(spec, ready[2:])}
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0
            errors.seek(0)
            assert "ERROR " not in errors.read()


def talk(port, *messages, timeout=5.0):
    """Send each message and collect everything until the service closes or goes quiet."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as conn:
        for message in messages:
            conn.sendall(message)
        conn.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return received


def dns_query(name: str, qtype: int, query_id: int = 0x1234) -> bytes:
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\x00"
    message = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", qtype, 1)
    return struct.pack(">H", len(message)) + message


def test_dns_answers_the_question(ports):
    reply = talk(ports["dns"], dns_query("www.sim.test", 1), dns_query("v6.sim.test", 28, 0x4321))
    first_length, = struct.unpack_from(">H", reply)
    first, second = reply[2:2 + first_length], reply[4 + first_length:]
    assert struct.unpack_from(">HHHH", first) == (0x1234, 0x8180, 1, 1)
    assert first.endswith(socket.inet_aton("198.51.100.7"))
    assert b"\x03www\x03sim\x04test\x00" in first
    assert struct.unpack_from(">HH", second) == (0x4321, 0x8180)
    assert second.endswith(socket.inet_pton(socket.AF_INET6, "2001:db8::7"))


def test_dns_refuses_other_opcodes_and_garbled_questions(ports):
    status = struct.pack(">HHHHHH", 7, 0x1000, 0, 0, 0, 0)  # opcode 2 (STATUS)
    garbled = struct.pack(">HHHHHH", 8, 0x0100, 1, 0, 0, 0) + b"\x3fab"
    reply = talk(ports["dns"], struct.pack(">H", len(status)) + status,
                 struct.pack(">H", len(garbled)) + garbled)
    assert struct.unpack_from(">HH", reply, 2)[1] & 0xF == 4   # NOTIMP
    assert struct.unpack_from(">HH", reply, 16)[1] & 0xF == 1  # FORMERR


def test_redis_commands(ports):
    reply = talk(ports["redis"], b"*1\r\n$4\r\nPING\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n",
                 b"GET k\r\n", b"*1\r\n$5\r\nFLUSH\r\n")
    assert reply == (b"+PONG\r\n+OK\r\n$2\r\nv1\r\n"
                     b"-ERR unknown command 'FLUSH', with args beginning with: \r\n")


def test_redis_drops_browser_requests(ports):
    assert talk(ports["redis"], b"POST / HTTP/1.1\r\nHost: x\r\n\r\n") == b""


def test_smtp_greets_and_answers_ehlo(ports):
    reply = talk(ports["smtp"], b"EHLO client.example\r\n", b"MAIL FROM:<a@b>\r\n", b"QUIT\r\n")
    lines = reply.split(b"\r\n")
    assert lines[0].startswith(b"220 ") and b"ESMTP" in lines[0]
    assert lines[1].startswith(b"250-") and b"250 CHUNKING" in reply
    assert b"554 5.7.1 Relay access denied" in reply and reply.endswith(b"221 2.0.0 Bye\r\n")


def test_http_keeps_alive_and_rejects_garbage(ports):
    reply = talk(ports["http"], b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"PUT /b HTTP/1.1\r\nHost: x\r\n\r\n", b"\x16\x03\x01")
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert b"HTTP/1.1 405 Not Allowed" in reply
    assert b"HTTP/1.1 400 Bad Request" in reply


def test_mqtt_refuses_an_unknown_protocol_level(ports):
    connect = bytes.fromhex("100f00044d5154540700000a00034c5a52")  # level 7
    assert talk(ports["mqtt"], connect) == bytes([0x20, 2, 0, 1])


def test_postgres_startup(ports):
    ssl_request = bytes.fromhex("0000000804d2162f")
    parameters = b"user\x00scanner\x00\x00"
    startup = struct.pack(">II", 8 + len(parameters), 3 << 16) + parameters
    reply = talk(ports["postgres"], ssl_request, startup)
    assert reply[:1] == b"N" and reply[1:2] == b"E"
    assert b"C28000\x00" in reply and b'user "scanner"' in reply


def test_memcached_ascii_roundtrip(ports):
    reply = talk(ports["memcached_ascii"], b"set k 0 0 2\r\nv1\r\n", b"get k\r\n", b"bogus\r\n")
    assert reply == b"STORED\r\nVALUE k 0 2\r\nv1\r\nEND\r\nERROR\r\n"


def https_get(port: int, path: str) -> tuple[bytes, bytes]:
    """(server certificate DER, whole response) of one HTTPS request."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((LOOPBACK, port), timeout=5) as raw:
        with context.wrap_socket(raw) as conn:
            der = conn.getpeercert(binary_form=True)
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
    return der, reply


def test_tls_serves_https_and_tells_plain_http_clients(ports):
    _, reply = https_get(ports["tls"], "/index.html")
    assert reply.startswith(b"HTTP/1.1 200 OK") and b"/index.html" in reply
    plain = talk(ports["tls"], b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert plain.startswith(b"HTTP/1.1 400 Bad Request")
    assert b"The plain HTTP request was sent to HTTPS port" in plain


def test_kubernetes_is_https_with_the_cluster_ca(ports):
    der, reply = https_get(ports["kubernetes"], "/api")
    assert talk(ports["kubernetes"], b"GET / HTTP/1.1\r\n\r\n").endswith(
        b"Client sent an HTTP request to an HTTPS server.\n")
    assert b"kubernetes" in der and b"kube-apiserver" in der
    assert reply.startswith(b"HTTP/1.1 403 Forbidden")
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["reason"] == "Forbidden"


def test_modbus_echoes_transaction_and_rejects_unknown_functions(ports):
    read_registers = struct.pack(">HHHBBHH", 0x0102, 0, 6, 1, 3, 0, 2)
    unknown = struct.pack(">HHHBB", 0x0103, 0, 2, 1, 0x5A)
    reply = talk(ports["modbus"], read_registers, unknown)
    assert reply == (struct.pack(">HHHBBB", 0x0102, 0, 7, 1, 3, 4) + bytes(4)
                     + struct.pack(">HHHBBB", 0x0103, 0, 3, 1, 0xDA, 1))


def test_socks5_never_connects_anywhere(ports):
    connect = b"\x05\x01\x00\x01" + socket.inet_aton("192.0.2.1") + b"\x00\x50"
    reply = talk(ports["socks5"], b"\x05\x01\x00", connect)
    assert reply[:2] == b"\x05\x00" and reply[2:4] == b"\x05\x02"


def test_rsync_lists_modules_and_refuses_unknown_ones(ports):
    assert talk(ports["rsync"], b"@RSYNCD: 31.0\n", b"#list\n").endswith(b"@RSYNCD: EXIT\n")
    assert talk(ports["rsync"], b"@RSYNCD: 31.0\n", b"nope\n").endswith(b"@ERROR: Unknown module 'nope'\n")
    assert b"@RSYNCD: AUTHREQD " in talk(ports["rsync"], b"@RSYNCD: 31.0\n", b"backup\n")


def test_sip_copies_the_dialog_headers(ports):
    request = (b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP a;branch=z9hG4bK1\r\nFrom: <sip:a@a>;tag=1\r\n"
               b"To: <sip:x>\r\nCall-ID: c1\r\nCSeq: 5 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    reply = talk(ports["sip"], request, request.replace(b"Call-ID: c1\r\n", b""))
    assert reply.startswith(b"SIP/2.0 200 OK\r\n")
    assert b"CSeq: 5 OPTIONS\r\n" in reply and b"Call-ID: c1\r\n" in reply and b"To: <sip:x>;tag=" in reply
    assert b"SIP/2.0 400 Missing Mandatory Header" in reply


def test_zookeeper_whitelist(ports):
    assert talk(ports["zookeeper"], b"ruok") == b"ruok is not executed because it is not in the whitelist.\n"
    assert talk(ports["zookeeper"], b"srvr").startswith(b"Zookeeper version: ")


def test_ldap_bind_and_notice_of_disconnection(ports):
    anonymous_bind = bytes.fromhex("300c020102600702010304008000")
    reply = talk(ports["ldap"], anonymous_bind, b"GET / HTTP/1.1\r\n\r\n")
    assert reply.startswith(bytes.fromhex("300c02010261070a010004000400"))
    assert reply.endswith(b"1.3.6.1.4.1.1466.20036")


def test_dnp3_crc_matches_lzrs_probe_frames():
    assert struct.pack("<H", crc16_dnp(bytes.fromhex("056405c900000000"))).hex() == "364c"
    assert struct.pack("<H", crc16_dnp(bytes.fromhex("056405c901000000"))).hex() == "de8e"


def test_dnp3_answers_only_its_own_address(ports):
    def request_link_status(destination):
        header = struct.pack("<2sBBHH", b"\x05\x64", 5, 0xC9, destination, 3)
        return header + struct.pack("<H", crc16_dnp(header))
    reply = talk(ports["dnp3"], request_link_status(6), request_link_status(7))
    header = struct.pack("<2sBBHH", b"\x05\x64", 5, 0x0B, 3, 7)
    assert reply == header + struct.pack("<H", crc16_dnp(header))


def test_epmd_names_and_port_please(ports):
    port = ports["epmd"]
    assert talk(port, b"\x00\x01n") == struct.pack(">I", port) + b"name couchdb at port 9100\n"
    assert talk(port, b"\x00\x08zcouchdb")[:4] == b"w\x00\x23\x8c"  # result 0, port 9100
    assert talk(port, b"\x00\x05zsofa") == b"w\x01"


def test_stomp_negotiates_and_refuses_unknown_users(ports):
    login = b"CONNECT\naccept-version:1.1,1.2\nlogin:scanner\npasscode:secret\n\n\x00"
    assert talk(ports["stomp"], login).startswith(b"CONNECTED\nserver:")
    assert b"\nversion:1.2\n" in talk(ports["stomp"], login)
    refused = talk(ports["stomp"], b"CONNECT\naccept-version:1.2\n\n\x00")
    assert refused.startswith(b"ERROR\nmessage:Access refused\n")
    early = talk(ports["stomp"], b"SEND\ndestination:/q\n\nhi\x00")
    assert early.startswith(b"ERROR\nmessage:Illegal command")


def test_iec104_confirms_and_acknowledges_only_when_started(ports):
    startdt, testfr = bytes.fromhex("680407000000"), bytes.fromhex("680443000000")
    interrogation = bytes.fromhex("64010600010000000014")  # C_IC_NA_1, activation, station 1
    information = bytes.fromhex("680e00000000") + interrogation
    reply = talk(ports["iec104"], information, startdt, information, testfr)
    startdt_con, acknowledgement, testfr_con = "68040b000000", "680401000200", "680483000000"
    assert reply == bytes.fromhex(startdt_con + acknowledgement + testfr_con)


def test_opcua_acknowledges_hello_and_rejects_bad_urls(ports):
    def hello(url: bytes) -> bytes:
        body = struct.pack("<IIIIIi", 0, 65536, 65536, 0, 0, len(url)) + url
        return b"HELF" + struct.pack("<I", 8 + len(body)) + body
    reply = talk(ports["opcua"], hello(b"opc.tcp://plc:4840"))
    assert reply[:4] == b"ACKF" and struct.unpack_from("<I", reply, 4)[0] == 28
    assert talk(ports["opcua"], hello(b"http://plc/"))[:12] == b"ERRF" + struct.pack("<II", 36, 0x80830000)
