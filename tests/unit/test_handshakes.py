"""LZR's probes byte-exact with docs/lzr-reference.md §3.3, and the registry's API."""
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lzr.handshakes import (
    DEFAULT_ORDER, LZR_NAMES, REGISTRY, UnknownHandshake, dnp3, get, parse_list, tls,
)

UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.3"
)

# Hex of the "other probes" of docs/lzr-reference.md §3.3.
LZR_PROBES_HEX = {
    "amqp": "414d515000010000",
    "bgp": "0a0a",
    "newlines": "0a0a",
    "dns": "00233962010000010000000000000d737461636b6f766572666c6f7703636f6d0000010001",
    "ipmi": "0600ff07000000000000000000092018c88100388e04b5",
    "memcached_ascii": "73746174730d0a",
    "memcached_binary": "8010" + "00" * 22,
    "modbus": "5a4700000005002b0e0100",
    "mqtt": "100f00044d5154540400000a00034c5a52",
    "mssql": "1201002f0000020000001a00060100020001020021000103002200040400260001ff"
    "00000000000001000000000000",
    "newlines50": "0a" * 50,
    "oracle": "006d0000010000000138012c0c412000ffff7f08000001000033003a000008004141"
    + "00" * 24
    + b"(DESCRIPTION=(CONNECT_DATA=(CID=(PROGRAM=lzrORA))))".hex(),
    "postgres": "0000000804d2162f",
    "rdp": "0300002621e00000feca00436f6f6b69653a206d737473686173683d0d0a0100080001000000",
    "redis": "2a310d0a24340d0a50494e470d0a",
    "rtsp": "4f5054494f4e53202f20525453502f312e300d0a0d0a",
    "siemens": "0300001611e00000000400c1020100c2020200c0010a",
    # 20 zero bytes: the total (43) and the NetBIOS length (39) both say so.
    "smb": "00000027ff534d4272" + "00" * 20 + "0e00024e54204c4d20302e313200",
    "smtp": "45484c4f0d0a",
    "ssh": "5353482d322e302d476f0d0a",
    "x11": "6c000b000000000000000000",
    "mongodb": "3a000000" "00000000" "00000000" "d4070000" "00000000"
    + b"admin.$cmd\x00".hex()
    + "00000000" "01000000" "13000000" "10" + b"isMaster\x00".hex() + "01000000" "00",
}
SERVER_FIRST = ["ftp", "imap", "pop3", "telnet", "vnc", "mysql", "wait"]


@pytest.mark.parametrize("name,hex_bytes", sorted(LZR_PROBES_HEX.items()))
def test_probe_bytes_match_lzr(name, hex_bytes):
    assert get(name).probe("1.2.3.4") == bytes.fromhex(hex_bytes)


@pytest.mark.parametrize("name", SERVER_FIRST)
def test_server_first_probes_are_empty(name):
    assert get(name).server_first
    assert get(name).probe("1.2.3.4") == b""


def test_only_server_first_handshakes_send_nothing():
    for hs in REGISTRY.values():
        assert (hs.probe("1.2.3.4") == b"") == hs.server_first, hs.name


@pytest.mark.parametrize("name, request_line, extra_headers, length_without_host", [
    ("http", "GET / HTTP/1.1", "", 186),
    ("ipp", "POST /ipp HTTP/1.1", "Content-Type: application/ipp\r\n", 221),
])
def test_http_style_probes(name, request_line, extra_headers, length_without_host):
    for host in ("1.2.3.4", "10.20.30.40"):
        expected = (f"{request_line}\r\nHost: {host}\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n"
                    f"{extra_headers}User-Agent: {UA}\r\n\r\n").encode()
        assert get(name).probe(host) == expected
        assert len(expected) == length_without_host + len(host)


@pytest.mark.parametrize("name", ["http", "ipp"])
def test_ipv6_host_is_bracketed(name):
    assert b"\r\nHost: [2001:db8::1]\r\n" in get(name).probe("2001:db8::1")


def mask_random(hello: bytes) -> bytes:
    start = tls.RANDOM_OFFSET
    return hello[:start] + bytes(tls.RANDOM_LENGTH) + hello[start + tls.RANDOM_LENGTH:]


def test_tls_client_hello_structure():
    hello = get("tls").probe("1.2.3.4")
    assert len(hello) == 122
    expected = bytes.fromhex(
        "1603010075" "01000071" "0303" + "00" * 32 + "00"
        "001a" "c02fc02bc011c007c013c009c014c00a0005002f0035c012000a" "0100"
        "002e" "000500050100000000" "000a00080006001700180019" "000b00020100"
        "000d000a00080401040302010203" "ff01000100"
    )
    assert mask_random(hello) == expected


def test_tls_random_changes_per_probe():
    first, second = get("tls").probe("x"), get("tls").probe("x")
    assert first != second
    assert mask_random(first) == mask_random(second)


def test_kubernetes_sends_the_tls_hello():
    assert mask_random(get("kubernetes").probe("x")) == mask_random(get("tls").probe("x"))


def test_tls_random_comes_from_the_scans_source():
    first, second = (get("tls").probe("x", random.Random(7)) for _ in range(2))
    assert first == second != get("tls").probe("x", random.Random(8))


def test_handshakes_sharing_a_probe_say_so():
    # fingerprint.sure_labels trusts an answer to a probe for the rules of every handshake
    # that sends it: a handshake sending another's bytes must declare it, and only then.
    def sent(hs):
        return hs.probe("192.0.2.1", random.Random(1))

    for hs in REGISTRY.values():
        if hs.server_first:
            continue
        same = {other.name for other in REGISTRY.values()
                if other is not hs and not other.server_first and sent(other) == sent(hs)}
        declared = {other.name for other in REGISTRY.values() if other is not hs and (
            (other.same_probe_as or other.name) == (hs.same_probe_as or hs.name))}
        assert same == declared, hs.name


def test_dnp3_frames_and_crc():
    probe = get("dnp3").probe("1.2.3.4")
    assert len(probe) == 1002
    assert probe[:2] == b"\x00\x00"
    assert probe[2:12].hex() == "056405c900000000364c"
    assert probe[12:22].hex() == "056405c901000000de8e"
    assert probe[22:32].hex() == "056405c9020000009f84"
    assert dnp3.crc16_dnp(b"123456789") == 0xEA82  # CRC-16/DNP check value


def test_fox_hello():
    probe = get("fox").probe("1.2.3.4")
    assert len(probe) == 513
    assert probe.startswith(b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\n")
    assert probe.endswith(b"brandId=s:vykon\n};;\n")


def test_pptp_request():
    probe = get("pptp").probe("1.2.3.4")
    assert len(probe) == 156
    assert probe[:28].hex() == (
        "009c" "0001" "1a2b3c4d" "0001" "0000" "0100" "0000" "00000001" "00000001" "ffff" "0001"
    )
    assert probe[28:] == bytes(128)


def test_registry_has_lzrs_36_in_byte_order():
    assert len(LZR_NAMES) == 36
    assert set(LZR_NAMES) <= set(REGISTRY)
    assert list(REGISTRY) == sorted(REGISTRY, key=str.encode)
    assert all(REGISTRY[name].name == name for name in REGISTRY)


def test_descriptions_are_one_line():
    for hs in REGISTRY.values():
        assert hs.description and "\n" not in hs.description, hs.name


def test_get_unknown_lists_valid_names():
    with pytest.raises(UnknownHandshake) as error:
        get("gopher")
    assert isinstance(error.value, ValueError)
    assert "gopher" in str(error.value) and "http" in str(error.value)


def test_parse_list_keeps_order_and_duplicates():
    assert parse_list("wait,http,tls") == ("wait", "http", "tls")
    assert parse_list("http, http ,tls") == ("http", "http", "tls")
    with pytest.raises(UnknownHandshake):
        parse_list("http,gopher")


def test_all_expands_to_default_order():
    assert parse_list("all") == DEFAULT_ORDER
    assert parse_list("http,all")[1:] == DEFAULT_ORDER


def test_default_order_has_every_handshake_once():
    assert sorted(DEFAULT_ORDER) == sorted(REGISTRY)
    assert DEFAULT_ORDER[:3] == ("wait", "http", "tls")


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str))
def test_every_probe_takes_any_address(address):
    for hs in REGISTRY.values():
        assert isinstance(hs.probe(address), bytes)
    host = f"[{address}]" if ":" in address else address
    assert len(get("http").probe(address)) == 186 + len(host)
    assert len(get("ipp").probe(address)) == 221 + len(host)


def test_default_order_sends_banner_waits_only_first_and_last():
    # wait comes first; the other empty probes only repeat it, so they come after every
    # handshake that sends something new (kubernetes repeats tls's hello, so it is last).
    server_first = [i for i, name in enumerate(DEFAULT_ORDER) if get(name).server_first]
    client_first = [i for i, name in enumerate(DEFAULT_ORDER) if not get(name).server_first]
    assert server_first[0] == 0
    assert min(server_first[1:]) > max(i for i in client_first if DEFAULT_ORDER[i] != "kubernetes")
    assert DEFAULT_ORDER[-1] == "kubernetes"
