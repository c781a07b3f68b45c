"""The handshakes beyond LZR's: probe layouts from their specifications, and rule edges."""
import importlib
import struct

import pytest

from lzr.fingerprint import fingerprint
from lzr.handshakes import LZR_NAMES, REGISTRY, get

NEW = sorted(name for name in REGISTRY if name not in LZR_NAMES)


def probe(name: str, target: str = "192.0.2.1") -> bytes:
    return get(name).probe(target)


def matches(name: str, data: bytes) -> bool:
    return get(name).match(data) is not None


@pytest.mark.parametrize("name", NEW)
def test_module_docstring_says_where_the_bytes_come_from(name):
    doc = importlib.import_module(f"lzr.handshakes.{name}").__doc__
    assert doc and len(doc.strip().splitlines()) > 2


def test_socks5():
    assert probe("socks5") == b"\x05\x01\x00"
    assert matches("socks5", b"\x05\x00") and matches("socks5", b"\x05\xff")
    assert not matches("socks5", b"\x05\x00\x00") and not matches("socks5", b"\x04\x5a")
    # 05 ff also passes telnet's second-byte test; our tie-break keeps socks5.
    assert fingerprint(b"\x05\xff", ["http"]) == "socks5"


def test_h2c():
    data = probe("h2c")
    assert data == b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")
    settings = bytes.fromhex("000006040000000000") + bytes.fromhex("000300000064")
    assert matches("h2c", settings)
    assert not matches("h2c", bytes.fromhex("000005040000000000") + bytes(5))  # not 6-byte settings
    assert not matches("h2c", bytes.fromhex("000006040000000001") + bytes(6))  # not stream 0
    assert fingerprint(b"HTTP/1.1 400 Bad Request\r\n\r\n", ["h2c"]) == "http"


def test_cassandra():
    assert probe("cassandra") == bytes.fromhex("040000000500000000")
    supported = bytes.fromhex("840000000600000010") + b"\x00\x01\x00\x0bCQL_VERSION"
    assert matches("cassandra", supported)
    # A v1 response byte (0x81) belongs to memcached_binary's rule in LZR; ours leaves it.
    assert not matches("cassandra", b"\x81" + supported[1:])


def test_zookeeper():
    assert probe("zookeeper") == b"srvr"
    assert matches("zookeeper", b"Zookeeper version: 3.9.1-..., built on ...\n")
    assert not matches("zookeeper", b"zookeeper version")


def test_kafka():
    data = probe("kafka")
    size, api_key, api_version = struct.unpack(">ihh", data[:8])
    assert size == len(data) - 4 and (api_key, api_version) == (18, 0)
    assert data[8:12] == b"LZR!" and data[12:] == b"\x00\x03lzr"
    assert matches("kafka", b"\x00\x00\x00\x06LZR!\x00\x23")
    assert not matches("kafka", b"\x00\x00\x00\x06LZR?\x00\x00")
    assert not matches("kafka", b"\x00\x00\x00\x06LZR!\x00\x01")


def test_ldap():
    data = probe("ldap")
    assert data[0] == 0x30 and data[1] == len(data) - 2
    assert data[2:5] == b"\x02\x01\x01" and data[5] == 0x63 and data[6] == len(data) - 7
    assert b"\x87\x0bobjectClass" in data
    long_form_done = bytes.fromhex("3084000000 0c 020101 6507 0a0100 0400 0400".replace(" ", ""))
    assert matches("ldap", long_form_done)
    disconnection = bytes.fromhex("3024 020100 781f 0a0102".replace(" ", ""))
    assert matches("ldap", disconnection)
    assert not matches("ldap", bytes.fromhex("300c0201017807" "0a0100"))
    assert not matches("ldap", b"0 is not a BER sequence")


def test_git():
    data = probe("git", "2001:db8::1")
    assert int(data[:4], 16) == len(data)
    assert data[4:] == b"git-upload-pack /\x00host=[2001:db8::1]\x00"
    assert matches("git", b"0040" + b"0123456789abcdef" * 2 + b"01234567" + b" HEAD\x00side-band")
    assert not matches("git", b"00zzERR nope")


@pytest.mark.parametrize("name", ["rsync", "nntp", "nats"])
def test_server_first(name):
    assert get(name).server_first and probe(name) == b""


def test_nntp():
    assert matches("nntp", b"201 news.example.net ready (no posting)\r\n")
    assert not matches("nntp", b"200 OK")  # not a CRLF-terminated line
    assert not matches("nntp", b"220 ftp ready\r\n")


def test_xmpp():
    data = probe("xmpp", "::1")
    assert data.startswith(b"<?xml version='1.0'?><stream:stream to='[::1]' version='1.0'")
    assert b"xmlns='jabber:client'" in data
    assert b"xmlns:stream='http://etherx.jabber.org/streams'" in data


def test_irc():
    assert probe("irc") == b"NICK lzr\r\nUSER lzr 0 * :lzr\r\n"
    for line in (
        b"NOTICE AUTH :*** Looking up your hostname...\r\n",
        b":irc.example.net NOTICE * :*** Checking Ident\r\n",
        b":irc.example.net 433 * lzr :Nickname is already in use\r\n",
        b"ERROR :Closing link: (lzr@192.0.2.9) [Registration timeout]\r\n",
    ):
        assert matches("irc", line), line
    assert not matches("irc", b":irc.example.net HELLO there\r\n")
    assert not matches("irc", b": 001 x")


def test_sip():
    data = probe("sip", "192.0.2.1")
    assert data.startswith(b"OPTIONS sip:192.0.2.1 SIP/2.0\r\n") and data.endswith(b"\r\n\r\n")
    for header in (b"Via: SIP/2.0/TCP ", b"Max-Forwards: ", b"To: ", b"From: ", b"Call-ID: ",
                   b"CSeq: 1 OPTIONS", b"Content-Length: 0"):
        assert b"\r\n" + header in data
    assert matches("sip", b"SIP/2.0 404 Not Found\r\n")
    assert not matches("sip", b"SIP/2.0 OK\r\n")


def test_enip():
    data = probe("enip")
    command, length, session, status = struct.unpack("<HHII", data[:12])
    assert len(data) == 24 and (command, length, session, status) == (0x63, 0, 0, 0)
    reply = data[:2] + b"\x10\x00" + bytes(8) + data[12:20] + bytes(4) + bytes(16)
    assert matches("enip", reply)
    assert not matches("enip", reply[:12] + b"another!" + reply[20:])


def test_drda():
    data = probe("drda")
    assert struct.unpack(">HBBH", data[:6]) == (len(data), 0xD0, 0x01, 1)
    assert struct.unpack(">HH", data[6:10]) == (len(data) - 6, 0x1041)
    assert struct.unpack(">HH", data[10:14]) == (7, 0x115E) and data[14:17].decode("cp037") == "lzr"
    reply = struct.pack(">HBBHHH", 10, 0xD0, 0x02, 1, 4, 0x1443)
    assert matches("drda", reply)
    assert not matches("drda", reply[:3] + b"\x01" + reply[4:])  # a request, not a reply


def test_small_binary_handshakes():
    assert probe("jdwp") == b"JDWP-Handshake" and matches("jdwp", b"JDWP-Handshake")
    assert probe("ajp13") == b"\x12\x34\x00\x01\x0a" and matches("ajp13", b"AB\x00\x01\x09")
    assert not matches("ajp13", b"AB\x00\x01\x04")
    assert probe("java_rmi") == b"JRMI\x00\x02\x4b"
    assert matches("java_rmi", b"\x4e\x00\x09127.0.0.1\x00\x00\xc3\x50")
    assert not matches("java_rmi", b"\x4e\x00\x09127.0.0.1\x00\x00")  # port cut short
    assert not matches("java_rmi", b"NOTICE AUTH")
    assert probe("pjl") == b"\x1b%-12345X@PJL INFO ID\r\n\x1b%-12345X"


def test_smb2():
    data = probe("smb2")
    assert struct.unpack(">I", data[:4])[0] == len(data) - 4
    header, negotiate = data[4:68], data[68:]
    assert header[:4] == b"\xfeSMB" and struct.unpack("<H", header[4:6])[0] == 64
    structure_size, dialect_count = struct.unpack("<HH", negotiate[:4])
    assert structure_size == 36 and len(negotiate) == 36 + 2 * dialect_count
    assert fingerprint(b"\x00\x00\x00\x40\xfeSMB" + bytes(60), ["smb2"]) == "smb"


def test_openvpn():
    data = probe("openvpn")
    assert int.from_bytes(data[:2], "big") == len(data) - 2 == 14
    assert data[2] == 7 << 3 and data[3:11] == b"lzr-ovpn" and data[11:] == bytes(5)
    reply = bytes.fromhex("001a40") + b"server!!" + b"\x01" + bytes(4) + b"lzr-ovpn" + bytes(4)
    assert matches("openvpn", reply)
    assert not matches("openvpn", reply[:12 + 4] + b"another!" + reply[24:])
    assert not matches("openvpn", reply[:2] + b"\x38" + reply[3:])  # a client reset


def test_epmd():
    assert probe("epmd") == b"\x00\x01n"
    assert matches("epmd", b"\x00\x00\x11\x11name rabbit at port 25672\n")
    assert matches("epmd", b"\x00\x00\x11\x11")
    assert not matches("epmd", b"\x00\x00\x43\xd9")  # bare port that is not EPMD's usual one
    assert not matches("epmd", b"The name is Bond\n")


def test_stomp():
    assert probe("stomp", "::1") == b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:[::1]\n\n\x00"
    assert matches("stomp", b"CONNECTED\nversion:1.2\nserver:ActiveMQ/5.18.3\n\n\x00")
    assert matches("stomp", b"ERROR\r\nmessage:Bad CONNECT\r\n\r\n\x00")
    assert not matches("stomp", b"ERROR\r\n")  # memcached's answer to anything it cannot parse


def test_iec104():
    assert probe("iec104") == bytes.fromhex("680407000000")
    assert matches("iec104", bytes.fromhex("68040b000000"))
    assert matches("iec104", bytes.fromhex("680443000000") + bytes.fromhex("680e00000000"))
    assert not matches("iec104", bytes.fromhex("680407000000"))  # our own request echoed
    assert not matches("iec104", bytes.fromhex("68040b000100"))


def test_opcua():
    data = probe("opcua", "::1")
    assert data[:4] == b"HELF" and struct.unpack("<I", data[4:8])[0] == len(data)
    assert struct.unpack("<IIIII", data[8:28]) == (0, 65536, 65536, 0, 0)
    assert data[28:] == struct.pack("<i", 15) + b"opc.tcp://[::1]"
    assert matches("opcua", b"ACKF" + struct.pack("<I", 28) + bytes(20))
    assert not matches("opcua", b"ACKF" + struct.pack("<I", 4))
    assert not matches("opcua", b"HELF" + data[4:])
